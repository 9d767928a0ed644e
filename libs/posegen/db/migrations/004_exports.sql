-- Exports and history: what pose-aware framing and the ZIP manifest need of each image, and the indexes of
-- the history, stats and admin views.

-- The keypoints the image was generated from, normalised to the image (18 OpenPose entries, [x, y, c] or
-- null), and the library pose that guided it (in text mode pose_id is null; the worker picked a pose).
ALTER TABLE generated_poses
    ADD COLUMN keypoints jsonb CONSTRAINT generated_poses_keypoints_check
        CHECK (keypoints IS NULL OR (jsonb_typeof(keypoints) = 'array' AND jsonb_array_length(keypoints) = 18)),
    ADD COLUMN guide_pose_id text REFERENCES poses (id) ON DELETE SET NULL;

-- The admin's generations by status, and images per day.
CREATE INDEX generations_status_created_idx ON generations (status, created_at DESC);
CREATE INDEX generated_poses_created_idx ON generated_poses (created_at);
