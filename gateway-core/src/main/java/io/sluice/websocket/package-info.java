/** WebSocket sessions: the upgrade handshake toward the upstream and the frame relay both ways. */
package io.sluice.websocket;
