-- Version 1: the users and the store's own state.

-- One row per user. The id (a uint32 in the contract) is the primary key, so
-- the index itself refuses a taken id, however many replicas add it at once.
CREATE TABLE users (
    id           bigint      PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    nickname     text        NOT NULL,
    mail_address text        NOT NULL,
    user_type    smallint    NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- GetUsersByType walks one type in ascending id order, a page at a time:
-- WHERE user_type = $1 AND id > $2 ORDER BY id LIMIT $3.
CREATE INDEX users_by_type ON users (user_type, id);

-- Facts about the store: the row 'seeded' is written in the transaction that
-- loads the seed users, so they are loaded once, by the first replica.
CREATE TABLE store_state (
    key    text        PRIMARY KEY,
    value  text        NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now()
);
