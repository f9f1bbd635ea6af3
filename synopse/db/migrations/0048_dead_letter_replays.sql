-- Ledger of the dead-letter records sent back to their input topic by `synopse dlq replay`: a second
-- replay skips what is here (unless forced), so fixing a cause and replaying twice resends nothing.

CREATE TABLE IF NOT EXISTS dead_letter_replays (
    dlq_topic      text NOT NULL,
    dlq_partition  integer NOT NULL,
    dlq_offset     bigint NOT NULL,
    source_topic   text NOT NULL,
    replay_id      text NOT NULL,          -- one id per `synopse dlq replay` run
    replayed_at    timestamptz NOT NULL DEFAULT now(),
    replays        integer NOT NULL DEFAULT 1,
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
