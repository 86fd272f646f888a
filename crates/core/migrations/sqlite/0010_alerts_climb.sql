-- Timed escalation (every 30 s in every console and runner) climbs triggered alerts whose level
-- is due; without this it scanned every alert (50 ms per level at 3.4·10^5 alerts).
CREATE INDEX alerts_climb ON alerts (level, level_since) WHERE status = 'triggered';
