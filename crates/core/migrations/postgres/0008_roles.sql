-- Audit rows carry the actor's role and the operator's reason (brief: actor, role, action,
-- scope, reason, result, time); `outcome` is the result.
ALTER TABLE audit_log ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_at ON audit_log (id DESC);
