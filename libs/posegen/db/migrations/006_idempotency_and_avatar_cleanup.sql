-- Idempotency-Key: the first successful answer to a request, kept for 24 hours per (user, route, key), so
-- that a retried POST /generate or credit grant returns it instead of running again (docs/api.md). The row is
-- inserted in the transaction that charges or grants, so two requests with one key serialise on its primary key.
CREATE TABLE idempotency_keys (
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    route        text NOT NULL,
    key          text NOT NULL CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL,
    status_code  integer NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, route, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Avatars a project no longer shows (replaced), recorded in the transaction that replaced them and deleted from
-- storage once no unfinished generation pins them (generations.avatar_key); the gateway's reconciler retries.
CREATE TABLE discarded_avatars (
    key          text PRIMARY KEY,
    discarded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX generations_unfinished_avatar_key_idx ON generations (avatar_key)
    WHERE avatar_key IS NOT NULL AND status IN ('queued', 'processing');
