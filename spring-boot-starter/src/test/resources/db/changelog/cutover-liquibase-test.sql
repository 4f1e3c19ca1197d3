--liquibase formatted sql
--changeset cutover:1
CREATE TABLE ledger (id bigserial PRIMARY KEY, entry text NOT NULL);
