package io.sluice.plugins.budget;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;

/** A calendar period in UTC: a day, a week from Monday, a month. */
enum Period {
  DAY("day"), WEEK("week"), MONTH("month");

  final String key;

  Period(String key) {
    this.key = key;
  }

  static Period of(String key) {
    for (Period p : values()) {
      if (p.key.equals(key)) {
        return p;
      }
    }
    return null;
  }

  /** The epoch milliseconds at which the period holding {@code epochMillis} starts. */
  long start(long epochMillis) {
    LocalDate day = Instant.ofEpochMilli(epochMillis).atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate first = switch (this) {
      case DAY -> day;
      case WEEK -> day.with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
      case MONTH -> day.withDayOfMonth(1);
    };
    return first.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
  }

  /** The epoch milliseconds at which the period holding {@code epochMillis} ends (the next one starts). */
  long end(long epochMillis) {
    LocalDate first = Instant.ofEpochMilli(start(epochMillis)).atZone(ZoneOffset.UTC).toLocalDate();
    LocalDate next = switch (this) {
      case DAY -> first.plusDays(1);
      case WEEK -> first.plusWeeks(1);
      case MONTH -> first.plusMonths(1);
    };
    return next.atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
  }
}
