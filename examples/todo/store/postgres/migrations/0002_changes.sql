-- Each list counts the changes to its todos; every write takes the next
-- number in its own transaction, so that services over one database agree on
-- the order. The epoch names this database's numbering.
ALTER TABLE lists ADD COLUMN changes BIGINT NOT NULL DEFAULT 0;

CREATE TABLE store_epoch (
	epoch TEXT NOT NULL
);

INSERT INTO store_epoch (epoch) VALUES (md5(random()::text || clock_timestamp()::text));
