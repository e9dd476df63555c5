-- The legacy customer database's address-change table, as the old system
-- defined it: fixed CHAR columns, a CHECK and a UNIQUE constraint.  The
-- demo creates it in SQLite; the same DDL runs on PostgreSQL.
CREATE TABLE ADDRESS_CHANGES (
    -- ferry's delivery identity: unique across every spool that writes here
    -- (the reference beside it is unique within one spool only)
    DELIVERY_ID CHAR(36)   NOT NULL PRIMARY KEY,
    REF        CHAR(20)    NOT NULL,
    FORM_REF   CHAR(12)    NOT NULL,
    NINO       CHAR(9)     NOT NULL CHECK (LENGTH(NINO) = 9),
    SURNAME    CHAR(20)    NOT NULL,
    ADDR1      CHAR(30)    NOT NULL,
    TOWN       CHAR(20)    NOT NULL,
    POSTCODE   CHAR(8)     NOT NULL,
    MOVE_DATE  DATE        NOT NULL,
    RECEIVED   TIMESTAMP   NOT NULL,
    SOURCE     CHAR(3)     NOT NULL,
    UNIQUE (NINO, MOVE_DATE)
);
