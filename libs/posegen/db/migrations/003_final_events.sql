-- A generation's final event (completed, failed, cancelled) is owed from the moment it ends until it has
-- reached Redis: final_event_at records that moment, so a final event lost to a crash between the commit and
-- the publish is published later by the reconciler (posegen.lifecycle).
ALTER TABLE generations ADD COLUMN final_event_at timestamptz;
UPDATE generations SET final_event_at = completed_at
    WHERE status IN ('completed', 'partial', 'failed', 'cancelled');
CREATE INDEX generations_final_event_owed_idx ON generations (completed_at) WHERE final_event_at IS NULL
    AND status IN ('completed', 'partial', 'failed', 'cancelled');

-- Every number the API accepts must be storable: a guidance scale like 5e-324 underflows a 4-byte real.
ALTER TABLE generations ALTER COLUMN guidance_scale TYPE double precision;
