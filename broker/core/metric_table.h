// The one list of per-worker metrics: each entry makes a WorkerCounters field (broker/net),
// a WorkerMetrics value and a /metrics family with its help text, so that a counter cannot
// exist without being exported. A macro because the fields keep their plain names.
#pragma once

// X(member, metric name, kind, help). Kinds: kCounter and kGauge are summed over workers;
// kWorkerSeconds (nanoseconds in the counter) is rendered per worker, in seconds.
#define HERALD_WORKER_SCALARS(X)                                                                  \
  X(connections, "herald_connections", kGauge, "Open connections (WebSocket and HTTP).")          \
  X(connections_accepted, "herald_connections_accepted_total", kCounter, "Connections accepted.") \
  X(connections_closed, "herald_connections_closed_total", kCounter,                              \
    "Accepted connections closed (those refused at the connection limit are not counted).")       \
  X(connections_refused, "herald_connections_refused_total", kCounter,                            \
    "Connections refused at --max-connections: 503, or TCP closed before a TLS handshake.")       \
  X(subscriptions, "herald_subscriptions", kGauge, "Active subscriptions.")                       \
  X(messages_in, "herald_messages_in_total", kCounter,                                            \
    "WebSocket messages received from clients (commands, publishes, echoes).")                    \
  X(messages_out, "herald_messages_out_total", kCounter,                                          \
    "Frames queued to clients: deliveries, echoes, one per replayed page; not replies.")          \
  X(messages_published, "herald_messages_published_total", kCounter,                              \
    "Messages given a sequence number.")                                                          \
  X(messages_delivered, "herald_messages_delivered_total", kCounter,                              \
    "Messages queued to subscribers.")                                                            \
  X(bytes_in, "herald_bytes_in_total", kCounter, "Bytes received from clients.")                  \
  X(bytes_out, "herald_bytes_out_total", kCounter, "Bytes sent to clients.")                      \
  X(command_errors, "herald_command_errors_total", kCounter, "Commands answered with an error.")  \
  X(io_errors, "herald_io_errors_total", kCounter,                                                \
    "Receives or sends that failed (connection reset, broken pipe, ...).")                        \
  X(abnormal_closes, "herald_abnormal_closes_total", kCounter,                                    \
    "WebSocket connections whose TCP stream ended without a close handshake (1006).")             \
  X(handshake_timeouts, "herald_handshake_timeouts_total", kCounter,                              \
    "Connections closed because the handshake did not finish within --handshake-timeout-ms.")     \
  X(idle_timeouts, "herald_idle_timeouts_total", kCounter,                                        \
    "Connections closed (1001) because the peer answered no ping within --idle-timeout-ms.")      \
  X(close_timeouts, "herald_close_timeouts_total", kCounter,                                      \
    "Connections dropped because the peer did not answer our Close or drain its socket.")         \
  X(recv_buffer_shortages, "herald_recv_buffer_shortages_total", kCounter,                        \
    "Receives that found the provided receive buffer ring empty (ENOBUFS) and were re-armed.")    \
  X(recv_pauses, "herald_recv_pauses_total", kCounter,                                            \
    "Times reading from a connection stopped because its send queue was over the high mark.")     \
  X(channel_overflows, "herald_channel_overflows_total", kCounter,                                \
    "Times an inter-worker channel was full and items waited in the sender's overflow list.")     \
  X(tls_handshakes, "herald_tls_handshakes_total", kCounter, "TLS handshakes completed.")         \
  X(tls_resumptions, "herald_tls_resumptions_total", kCounter,                                    \
    "TLS handshakes that resumed a session.")                                                     \
  X(tls_handshake_failures, "herald_tls_handshake_failures_total", kCounter,                      \
    "TLS handshakes that failed or timed out (closed without a WebSocket close code).")           \
  X(replays, "herald_replays_total", kCounter,                                                    \
    "Subscribes that read history: from, last, since or snapshot (one per command).")             \
  X(replayed_messages, "herald_replayed_messages_total", kCounter,                                \
    "Messages sent from the history log, by replays and catch-ups.")                              \
  X(catchups, "herald_catchups_total", kCounter,                                                  \
    "Times a slow subscriber was switched to the log by the catchup policy.")                     \
  X(publishes_held, "herald_publishes_held_total", kCounter,                                      \
    "Publishes to topics with history held by their topic's owner while its storage queue was "   \
    "full; each is sequenced, stored and acked once there is room.")                              \
  X(storage_pauses, "herald_storage_pauses_total", kCounter,                                      \
    "Times reading from a publishing connection stopped until the history writer caught up.")     \
  X(storage_failures, "herald_storage_failures_total", kCounter,                                  \
    "History appends the storage worker reported as failed (their publishes are not acked).")     \
  X(cluster_publishes_unavailable, "herald_redis_publishes_unavailable_total", kCounter,          \
    "Publishes refused with unavailable: Redis could not be reached, or its queue was full.")     \
  X(cluster_messages_in, "herald_redis_messages_in_total", kCounter,                              \
    "Messages this node received from Redis for its subscribers.")                                \
  X(cluster_repair_reads, "herald_redis_repair_reads_total", kCounter,                            \
    "Range reads of a topic's stream to fill a jump in its numbers or an outage.")                \
  X(cluster_repaired_messages, "herald_redis_repaired_messages_total", kCounter,                  \
    "Messages delivered from a repair read instead of the pub/sub connection.")                   \
  X(cluster_gap_messages, "herald_redis_gap_messages_total", kCounter,                            \
    "Messages reported to subscribers as a gap: missed and not retained in Redis.")               \
  X(cluster_resets, "herald_redis_resets_total", kCounter,                                        \
    "Topics whose Redis history was lost (a new epoch) while this node followed them.")           \
  X(deflate_negotiated, "herald_deflate_negotiated_total", kCounter,                              \
    "WebSocket upgrades that agreed on permessage-deflate (RFC 7692).")                           \
  X(deflate_frames, "herald_deflate_frames_total", kCounter,                                      \
    "Frames compressed: once per broadcast, however many subscribers get it, and once per "       \
    "replay page or echo.")                                                                       \
  X(deflate_bytes_in, "herald_deflate_bytes_in_total", kCounter,                                  \
    "Bytes of the frames compressed, before compression (headers included).")                     \
  X(deflate_bytes_out, "herald_deflate_bytes_out_total", kCounter,                                \
    "Bytes of the frames compressed, after compression (headers included).")                      \
  X(deflate_ns, "herald_deflate_seconds_total", kWorkerSeconds,                                   \
    "Time each worker spent compressing frames.")                                                 \
  X(drain_notices, "herald_drain_notices_total", kCounter,                                        \
    "Reconnect notices sent to pub/sub clients by a drain (SIGTERM or POST /admin/drain).")       \
  X(sends, "herald_sends_total", kCounter,                                                        \
    "Send operations submitted to the kernel (a tick's frames to one connection, gathered).")     \
  X(send_buffers, "herald_send_buffers_total", kCounter,                                          \
    "Buffers those sends gathered: frames, or TLS records (per send: / herald_sends_total).")     \
  X(close_codes_other, "herald_close_codes_other_total", kCounter,                                \
    "Close handshakes with a code outside 1000-1015 (the application's 3000-4999).")              \
  X(busy_ns, "herald_worker_busy_seconds_total", kWorkerSeconds,                                  \
    "Time each worker spent outside io_uring_enter waits.")

// X(member, size, metric name, label name, label value of an index, help): one sample per
// index, summed over workers.
#define HERALD_WORKER_ARRAYS(X)                                                            \
  X(slow_consumer, kSlowConsumerActions, "herald_slow_consumer_total", "policy",           \
    slow_consumer_label,                                                                   \
    "Slow-consumer events: connections closed, messages dropped, messages replaced.")      \
  X(close_codes, kCloseCodeSlots, "herald_close_codes_total", "code", close_code_label,    \
    "WebSocket closes by code: the peer's on a close handshake, ours when we failed it.")  \
  X(refusals, kRefusalKinds, "herald_refusals_total", "reason", refusal_label,             \
    "Requests, commands or connections refused by a limit or an access check.")            \
  X(close_reasons, kCloseReasons, "herald_closes_total", "reason", close_reason_label,     \
    "WebSocket closes the broker started, by reason (core::CloseReason).")                 \
  X(deflate_deliveries, kDeflateDeliveryKinds, "herald_deflate_deliveries_total", "frame", \
    deflate_delivery_label,                                                                \
    "Frames queued to connections with permessage-deflate: compressed, or plain (small, "  \
    "incompressible, or being compressed by another worker).")                             \
  X(inflate_failures, kInflateFailureKinds, "herald_inflate_failures_total", "reason",     \
    inflate_failure_label,                                                                 \
    "Client messages that failed to inflate: too_big (1009), corrupt (1007), no_memory "   \
    "(1011).")
