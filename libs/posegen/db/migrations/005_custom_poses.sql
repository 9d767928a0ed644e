-- Poses from photos: extractions (a photo, the keypoints found in it), private poses in the library, and
-- requests that a pose be added to the public library.

CREATE TABLE pose_extractions (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status          text NOT NULL DEFAULT 'queued' CONSTRAINT pose_extractions_status_check
        CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
    photo_key       text NOT NULL,
    photo_width     integer NOT NULL CONSTRAINT pose_extractions_photo_width_check CHECK (photo_width > 0),
    photo_height    integer NOT NULL CONSTRAINT pose_extractions_photo_height_check CHECK (photo_height > 0),
    -- The largest person's 18 OpenPose keypoints in the library's square frame, and the same normalised to
    -- the photo (for drawing over it).
    keypoints       jsonb CONSTRAINT pose_extractions_keypoints_check
        CHECK (keypoints IS NULL OR (jsonb_typeof(keypoints) = 'array' AND jsonb_array_length(keypoints) = 18)),
    image_keypoints jsonb,
    people          jsonb NOT NULL DEFAULT '[]',
    people_count    integer CONSTRAINT pose_extractions_people_count_check CHECK (people_count >= 0),
    chosen_person   integer,
    skeleton_key    text,
    overlay_key     text,
    error_code      text CONSTRAINT pose_extractions_error_code_check
        CHECK (error_code IN ('no_person', 'error', 'timeout')),
    error_message   text,
    seconds         real,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    completed_at    timestamptz,
    CONSTRAINT pose_extractions_completed_check
        CHECK (status <> 'completed' OR (keypoints IS NOT NULL AND skeleton_key IS NOT NULL AND people_count >= 1)),
    CONSTRAINT pose_extractions_failed_check CHECK (status <> 'failed' OR error_code IS NOT NULL)
);
CREATE INDEX pose_extractions_user_idx ON pose_extractions (user_id, created_at DESC);
-- Extractions that never finished (their extractor died), found and failed as 'timeout'.
CREATE INDEX pose_extractions_active_idx ON pose_extractions (created_at) WHERE status IN ('queued', 'processing');

-- A library pose has no owner and is public; a private pose belongs to its owner, who alone sees it. A deleted
-- private pose keeps its row (generations that used it still name it) but is hidden everywhere.
ALTER TABLE poses
    ADD COLUMN owner_id text REFERENCES users (id) ON DELETE CASCADE,
    ADD COLUMN visibility text NOT NULL DEFAULT 'public'
        CONSTRAINT poses_visibility_check CHECK (visibility IN ('public', 'private')),
    ADD COLUMN source_extraction_id text REFERENCES pose_extractions (id) ON DELETE SET NULL,
    ADD COLUMN deleted_at timestamptz,
    ADD CONSTRAINT poses_visibility_owner_check CHECK ((visibility = 'private') = (owner_id IS NOT NULL)),
    ADD CONSTRAINT poses_deleted_private_check CHECK (deleted_at IS NULL OR owner_id IS NOT NULL),
    DROP CONSTRAINT poses_category_name_key;
-- Library names stay unique per category (the seed upserts by them); private names per owner and category.
CREATE UNIQUE INDEX poses_library_name_key ON poses (category_id, name) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX poses_private_name_key ON poses (owner_id, category_id, name)
    WHERE owner_id IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX poses_owner_idx ON poses (owner_id, name) WHERE owner_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE pose_requests (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL CONSTRAINT pose_requests_name_check CHECK (char_length(name) BETWEEN 3 AND 100),
    description   text NOT NULL DEFAULT '' CONSTRAINT pose_requests_description_check
        CHECK (char_length(description) <= 1000),
    extraction_id text REFERENCES pose_extractions (id) ON DELETE SET NULL,
    status        text NOT NULL DEFAULT 'pending' CONSTRAINT pose_requests_status_check
        CHECK (status IN ('pending', 'approved', 'rejected')),
    reviewer_id   text REFERENCES users (id) ON DELETE SET NULL,
    reason        text,
    pose_id       text REFERENCES poses (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    reviewed_at   timestamptz,
    CONSTRAINT pose_requests_review_check CHECK (
        (status = 'pending' AND reviewed_at IS NULL)
        OR (status = 'approved' AND reviewed_at IS NOT NULL)
        OR (status = 'rejected' AND reviewed_at IS NOT NULL AND reason IS NOT NULL)
    )
);
CREATE INDEX pose_requests_user_idx ON pose_requests (user_id, created_at DESC, id);
-- The admins' review queue: pending requests, oldest first.
CREATE INDEX pose_requests_pending_idx ON pose_requests (created_at, id) WHERE status = 'pending';
