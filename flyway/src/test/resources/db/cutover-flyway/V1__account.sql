CREATE TABLE account (id bigserial PRIMARY KEY, name text NOT NULL);
INSERT INTO account (name) VALUES ('first');
