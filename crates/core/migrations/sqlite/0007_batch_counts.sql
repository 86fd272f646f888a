-- Batches per status, kept by triggers, so the console's poll does not count 10^4+ batches.
CREATE TABLE batch_counts (
    status  TEXT PRIMARY KEY,
    batches INTEGER NOT NULL DEFAULT 0
);
INSERT INTO batch_counts (status, batches) SELECT status, COUNT(*) FROM batches GROUP BY status;
CREATE TRIGGER batch_counts_insert AFTER INSERT ON batches BEGIN
    INSERT INTO batch_counts (status, batches) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET batches = batches + 1;
END;
CREATE TRIGGER batch_counts_delete AFTER DELETE ON batches BEGIN
    UPDATE batch_counts SET batches = batches - 1 WHERE status = OLD.status;
END;
CREATE TRIGGER batch_counts_update AFTER UPDATE OF status ON batches WHEN OLD.status IS NOT NEW.status BEGIN
    UPDATE batch_counts SET batches = batches - 1 WHERE status = OLD.status;
    INSERT INTO batch_counts (status, batches) VALUES (NEW.status, 1)
    ON CONFLICT (status) DO UPDATE SET batches = batches + 1;
END;
