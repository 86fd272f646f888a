-- The platform another team built, as the mapped-platform example maps it
-- (assets/examples/mapped-platform.toml): its own table and column names, NUMERIC(12,2) money,
-- TIMESTAMPTZ, JSONB, an enum, NOT NULL columns and foreign keys. cutover runs no DDL on it; the
-- one table it needs, cutover_fence, is created by the platform's owners (last statement).
CREATE TYPE payment_state AS ENUM ('PAID', 'REFUNDED', 'VOID');
CREATE TABLE accounts (
    account_id       BIGSERIAL PRIMARY KEY,
    external_ref     BIGINT UNIQUE,  -- the legacy id, as the platform keeps its external ids: a number
    display_name     TEXT NOT NULL,
    email_address    TEXT,
    phone            TEXT,
    kind             TEXT,
    signed_up_at     TIMESTAMPTZ,
    country_code     TEXT,
    needs_assistance BOOLEAN NOT NULL DEFAULT false,
    revenue          NUMERIC(12,2),
    extra            JSONB NOT NULL DEFAULT '{}',
    created_by       TEXT NOT NULL DEFAULT 'platform'
);
CREATE TABLE assets (
    asset_id     BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    external_ref TEXT NOT NULL,
    kind TEXT, brand TEXT, model TEXT, serial_no TEXT,
    warranty_end DATE
);
CREATE TABLE tickets (
    ticket_id    BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    asset_id     BIGINT REFERENCES assets (asset_id),
    external_ref TEXT NOT NULL,
    opened_at TIMESTAMPTZ, closed_at TIMESTAMPTZ, state TEXT, notes TEXT,
    cost         NUMERIC(12,2)
);
CREATE TABLE billing_payments (
    payment_id   BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    external_ref TEXT NOT NULL,
    amount       NUMERIC(12,2),
    currency     TEXT,
    paid_at      TIMESTAMPTZ,
    method       TEXT,
    state        payment_state
);
CREATE TABLE message_log (
    message_id   BIGSERIAL PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (account_id),
    external_ref TEXT NOT NULL,
    sent_at TIMESTAMPTZ, channel TEXT, direction TEXT, subject TEXT, body TEXT
);
CREATE TABLE cutover_fence (batch_id TEXT PRIMARY KEY, token BIGINT NOT NULL);
