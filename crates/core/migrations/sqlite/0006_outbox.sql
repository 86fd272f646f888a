-- The notifications table becomes an outbox: each message names its target and carries its
-- delivery state. `status`: recorded (no target configured: nothing to send), pending,
-- delivered, dead (dead-lettered after the retry budget or a refusal).
ALTER TABLE notifications ADD COLUMN target TEXT;
ALTER TABLE notifications ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at TEXT;
ALTER TABLE notifications ADD COLUMN last_error TEXT;
ALTER TABLE notifications ADD COLUMN delivered_at TEXT;
UPDATE notifications SET status = 'recorded' WHERE target IS NULL;
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
