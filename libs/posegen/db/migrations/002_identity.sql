-- Identity conditioning: the strength a generation asked for and the avatar file it was submitted with
-- (so replacing the project's avatar later does not change its images); each image records the strength
-- that was actually applied (0 when the worker had no adapter or the project no avatar).
ALTER TABLE generations
    ADD COLUMN identity_strength double precision NOT NULL DEFAULT 0
        CONSTRAINT generations_identity_strength_check CHECK (identity_strength BETWEEN 0 AND 1),
    ADD COLUMN avatar_key text,
    ADD CONSTRAINT generations_identity_avatar_check CHECK (identity_strength = 0 OR avatar_key IS NOT NULL);

ALTER TABLE generated_poses
    ADD COLUMN identity_strength double precision NOT NULL DEFAULT 0
        CONSTRAINT generated_poses_identity_strength_check CHECK (identity_strength BETWEEN 0 AND 1);
