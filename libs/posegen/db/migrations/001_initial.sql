-- The data model of SPEC §4. Ids are text; timestamps are timestamptz (UTC).

CREATE TABLE users (
    id             text PRIMARY KEY,
    email          text,
    role           text NOT NULL DEFAULT 'user' CONSTRAINT users_role_check CHECK (role IN ('user', 'admin')),
    credit_balance integer NOT NULL DEFAULT 0 CONSTRAINT users_credit_balance_check CHECK (credit_balance >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Append-only. users.credit_balance is the balance after the newest row; both change in one transaction.
CREATE TABLE credit_ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    amount         integer NOT NULL,
    balance        integer NOT NULL CONSTRAINT credit_ledger_balance_check CHECK (balance >= 0),
    type           text NOT NULL CONSTRAINT credit_ledger_type_check CHECK (type IN ('grant', 'usage', 'refund')),
    reference_type text NOT NULL,
    reference_id   text NOT NULL,
    description    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT credit_ledger_amount_sign_check
        CHECK ((type = 'usage' AND amount < 0) OR (type <> 'usage' AND amount > 0)),
    CONSTRAINT credit_ledger_type_reference_key UNIQUE (type, reference_type, reference_id)
);
CREATE INDEX credit_ledger_user_idx ON credit_ledger (user_id, id DESC);

CREATE TABLE pose_categories (
    id            text PRIMARY KEY,
    slug          text NOT NULL CONSTRAINT pose_categories_slug_key UNIQUE,
    name          text NOT NULL,
    description   text NOT NULL DEFAULT '',
    parent_id     text REFERENCES pose_categories (id) ON DELETE RESTRICT,
    icon          text,
    color         text CONSTRAINT pose_categories_color_check CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
    display_order integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pose_categories_parent_check CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX pose_categories_parent_idx ON pose_categories (parent_id, display_order);

CREATE TABLE poses (
    id                 text PRIMARY KEY,
    category_id        text NOT NULL REFERENCES pose_categories (id) ON DELETE RESTRICT,
    name               text NOT NULL,
    description        text NOT NULL DEFAULT '',
    tags               text[] NOT NULL DEFAULT '{}',
    difficulty         text NOT NULL
        CONSTRAINT poses_difficulty_check CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    gender_suitability text NOT NULL
        CONSTRAINT poses_gender_suitability_check CHECK (gender_suitability IN ('male', 'female', 'unisex')),
    is_featured        boolean NOT NULL DEFAULT false,
    is_premium         boolean NOT NULL DEFAULT false,
    keypoints          jsonb NOT NULL CONSTRAINT poses_keypoints_check
        CHECK (jsonb_typeof(keypoints) = 'array' AND jsonb_array_length(keypoints) = 18),
    usage_count        integer NOT NULL DEFAULT 0 CONSTRAINT poses_usage_count_check CHECK (usage_count >= 0),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT poses_category_name_key UNIQUE (category_id, name)
);
-- The library listing: by category, featured first, then by name.
CREATE INDEX poses_listing_idx ON poses (category_id, is_featured DESC, name);
CREATE INDEX poses_featured_idx ON poses (name) WHERE is_featured;
CREATE INDEX poses_tags_idx ON poses USING gin (tags);

CREATE TABLE projects (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL CONSTRAINT projects_name_check CHECK (char_length(name) BETWEEN 3 AND 100),
    description   text CONSTRAINT projects_description_check
        CHECK (description IS NULL OR char_length(description) <= 500),
    avatar_source text CONSTRAINT projects_avatar_source_check
        CHECK (avatar_source IN ('UPLOAD', 'AVATAR_CREATOR', 'URL')),
    avatar_image  text,
    status        text NOT NULL DEFAULT 'active' CONSTRAINT projects_status_check CHECK (status IN ('active', 'archived')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_user_idx ON projects (user_id, created_at DESC, id);

CREATE TABLE generations (
    id                  text PRIMARY KEY,
    project_id          text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id             text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    generation_type     text NOT NULL CONSTRAINT generations_generation_type_check
        CHECK (generation_type IN ('GALLERY_REFERENCE', 'TEXT_DESCRIPTION')),
    text_prompt         text,
    prompt              text,
    negative_prompt     text,
    variations_per_pose integer NOT NULL CONSTRAINT generations_variations_check CHECK (variations_per_pose BETWEEN 1 AND 10),
    width               integer NOT NULL CONSTRAINT generations_width_check CHECK (width BETWEEN 256 AND 1024 AND width % 64 = 0),
    height              integer NOT NULL CONSTRAINT generations_height_check CHECK (height BETWEEN 256 AND 1024 AND height % 64 = 0),
    steps               integer NOT NULL CONSTRAINT generations_steps_check CHECK (steps BETWEEN 1 AND 50),
    guidance_scale      real NOT NULL CONSTRAINT generations_guidance_scale_check CHECK (guidance_scale BETWEEN 0 AND 30),
    seed                bigint CONSTRAINT generations_seed_check CHECK (seed IS NULL OR seed >= 0),
    status              text NOT NULL DEFAULT 'queued' CONSTRAINT generations_status_check
        CHECK (status IN ('queued', 'processing', 'completed', 'partial', 'failed', 'cancelled')),
    poses_total         integer NOT NULL CONSTRAINT generations_poses_total_check CHECK (poses_total >= 1),
    poses_completed     integer NOT NULL DEFAULT 0,
    poses_failed        integer NOT NULL DEFAULT 0,
    credit_charged      integer NOT NULL DEFAULT 0 CONSTRAINT generations_credit_charged_check CHECK (credit_charged >= 0),
    credit_refunded     integer NOT NULL DEFAULT 0,
    error_message       text,
    queue_job_id        text,
    worker_name         text,
    cancel_requested_at timestamptz,
    recovery_attempts   integer NOT NULL DEFAULT 0 CONSTRAINT generations_recovery_attempts_check CHECK (recovery_attempts >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT generations_type_fields_check CHECK (
        (generation_type = 'TEXT_DESCRIPTION' AND text_prompt IS NOT NULL)
        OR (generation_type = 'GALLERY_REFERENCE' AND variations_per_pose <= 6)
    ),
    CONSTRAINT generations_pose_counts_check CHECK (
        poses_completed >= 0 AND poses_failed >= 0 AND poses_completed + poses_failed <= poses_total
    ),
    CONSTRAINT generations_credit_refunded_check CHECK (credit_refunded BETWEEN 0 AND credit_charged)
);
CREATE INDEX generations_user_idx ON generations (user_id, created_at DESC, id);
CREATE INDEX generations_project_idx ON generations (project_id, created_at DESC);
-- The reconciler (queued without a job) and the reaper (processing with an expired lease).
CREATE INDEX generations_active_idx ON generations (status, created_at) WHERE status IN ('queued', 'processing');

CREATE TABLE generation_poses (
    generation_id text NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    position      integer NOT NULL CONSTRAINT generation_poses_position_check CHECK (position >= 0),
    pose_id       text NOT NULL REFERENCES poses (id) ON DELETE RESTRICT,
    PRIMARY KEY (generation_id, position)
);
CREATE INDEX generation_poses_pose_idx ON generation_poses (pose_id);

CREATE TABLE generated_poses (
    id                 text PRIMARY KEY,
    generation_id      text NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    pose_id            text REFERENCES poses (id) ON DELETE SET NULL,
    variation_key      text NOT NULL,
    status             text NOT NULL CONSTRAINT generated_poses_status_check CHECK (status IN ('completed', 'failed')),
    image_key          text,
    thumbnail_key      text,
    seed               bigint,
    prompt_used        text,
    generation_seconds real,
    error_message      text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT generated_poses_generation_variation_key UNIQUE (generation_id, variation_key),
    CONSTRAINT generated_poses_completed_check
        CHECK (status <> 'completed' OR (image_key IS NOT NULL AND thumbnail_key IS NOT NULL AND seed IS NOT NULL))
);
-- Recent image timings, for the gateway's time estimates.
CREATE INDEX generated_poses_recent_idx ON generated_poses (created_at DESC) WHERE status = 'completed';
