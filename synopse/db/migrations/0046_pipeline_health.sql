-- Health of the stream pipeline, per consumer group, input topic (contract name, without the
-- environment prefix) and partition, for the dashboard and the alert rules. The counters are added in
-- the same transaction as the batch they count, so a batch redelivered after a crash is counted once;
-- the lag columns are written every few seconds by the worker that owns the partition (lag_at says
-- when: a stale lag_at means no worker holds the partition). Freshness per source stays in
-- source_freshness.

CREATE TABLE IF NOT EXISTS pipeline_health (
    consumer_group    text NOT NULL,
    topic             text NOT NULL,
    partition         integer NOT NULL CHECK (partition >= 0),
    messages_in       bigint NOT NULL DEFAULT 0,
    events_in         bigint NOT NULL DEFAULT 0,   -- valid and invalid; an envelope counts its events
    dead_lettered     bigint NOT NULL DEFAULT 0,
    last_offset       bigint,                      -- newest offset stored
    last_event_at     timestamptz,                 -- newest event time stored from the partition
    last_batch_at     timestamptz,                 -- when the last batch was stored
    end_offset        bigint,                      -- next offset the broker will write
    committed_offset  bigint,                      -- next offset the group will read
    lag               bigint,                      -- end_offset - committed_offset
    lag_at            timestamptz,
    worker            text,                        -- the worker that wrote the lag
    PRIMARY KEY (consumer_group, topic, partition)
);

CREATE OR REPLACE VIEW pipeline_health_topics AS
SELECT consumer_group, topic,
       count(*) AS partitions,
       sum(messages_in) AS messages_in,
       sum(events_in) AS events_in,
       sum(dead_lettered) AS dead_lettered,
       sum(lag) AS lag,
       max(last_event_at) AS last_event_at,
       max(last_batch_at) AS last_batch_at,
       min(lag_at) AS oldest_lag_at
FROM pipeline_health
GROUP BY consumer_group, topic;
