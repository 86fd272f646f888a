-- Consoles LISTEN on `cutover_state:<schema>` (one database may hold several workspaces, one
-- per schema) and poll at once when it fires: a hint that something the
-- poll reads changed, never the data itself (the poll on the interval stays the truth).
-- Statement-level, so a 10^4-row UPDATE sends one notification, and PostgreSQL folds equal
-- notifications of one transaction into one, delivered at commit.
CREATE FUNCTION cutover_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cutover_state:' || current_schema(), TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TRIGGER runner_notify AFTER INSERT OR UPDATE OR DELETE ON runner
    FOR EACH STATEMENT EXECUTE FUNCTION cutover_notify();
CREATE TRIGGER customers_notify AFTER INSERT OR UPDATE OR DELETE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION cutover_notify();
CREATE TRIGGER batches_notify AFTER INSERT OR UPDATE OR DELETE ON batches
    FOR EACH STATEMENT EXECUTE FUNCTION cutover_notify();
CREATE TRIGGER alerts_notify AFTER INSERT OR UPDATE OR DELETE ON alerts
    FOR EACH STATEMENT EXECUTE FUNCTION cutover_notify();
CREATE TRIGGER milestones_notify AFTER INSERT OR UPDATE OR DELETE ON milestones
    FOR EACH STATEMENT EXECUTE FUNCTION cutover_notify();
CREATE TRIGGER audit_notify AFTER INSERT ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION cutover_notify();
