CREATE TABLE booking (id bigserial PRIMARY KEY, guest text NOT NULL, seq int NOT NULL UNIQUE);
