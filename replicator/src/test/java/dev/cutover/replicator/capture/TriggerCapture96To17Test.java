package dev.cutover.replicator.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.cutover.replicator.Replicator;
import dev.cutover.replicator.apply.Applier;
import dev.cutover.replicator.apply.ApplyProcess;
import dev.cutover.replicator.check.Finding;
import dev.cutover.replicator.replication.Reverse;
import dev.cutover.replicator.verify.Verifier;
import dev.cutover.testkit.NoLeakedConnections;
import dev.cutover.testkit.PostgresPair;
import dev.cutover.testkit.PostgresPairExtension;
import dev.cutover.testkit.ReplicationTeardown;
import dev.cutover.testkit.PostgresVersions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Trigger capture from PostgreSQL 9.6, which has no logical decoding at all, to 17. */
@ExtendWith({PostgresPairExtension.class, ReplicationTeardown.class, NoLeakedConnections.class})
@PostgresVersions(oldMajor = 9, newMajor = 17)
class TriggerCapture96To17Test extends TriggerCaptureFlow {
  /** What status says of a difference a schema change on its way may end. */
  private static final String PENDING = " (if a schema change is on its way, it arrives with replication)";

  /** {@link OwnedDatabase#killApplyMidBatchAndRestart} over trigger capture. */
  @Test
  void apply_killedWithSigkillMidBatch_restartLosesAndRepeatsNothing(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "kill");
    Replicator r = started(db);
    db.killApplyMidBatchAndRestart(r, CATCH_UP);
  }

  /**
   * {@link TriggerCaptureFlow#applyNestedWritesInOrder} from 9.6, applied by the tables' owner
   * (new's own triggers off in each batch, its foreign keys checked and cascading). Before, the
   * capture's triggers fired after the application's {@code add_default_settings}, the child row
   * was logged before its parent, and the apply failed the foreign key for ever.
   */
  @Test
  void apply_applicationTriggersWriteInNestedStatements_newEndsAsOldAsOwner(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "nested");
    createNestedWrites(db);
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      applyNestedWritesInOrder(db, r, apply);
    }
  }

  /**
   * The way back into 9.6, whose {@code json_to_record} reads a JSON array or object only as the
   * text of the value (10 reads them as arrays and records): columns that are arrays (of scalars,
   * of composites, of json, several dimensions, under a domain) or composites, in keyed and
   * keyless tables, written on new after reverse is armed, arrive on old as they are on new.
   * Before, the first such change stopped the way back with {@code malformed array literal}.
   */
  @Test
  void reverse_arraysAndCompositesWrittenOnNew_arriveOnOld(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "back");
    db.executeOnBoth("CREATE DOMAIN tag_list AS text[] CHECK (cardinality(VALUE) < 10);"
        + " CREATE TABLE shape (id int PRIMARY KEY, grid int[], prices price[], docs json[], tags tag_list, p price);"
        + " CREATE TABLE loose (a int[], p price)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "UPDATE account SET tags = ARRAY['z', NULL, 'a \"q\" {b}'], scores = ARRAY[7], price = ROW(1.5, 'USD'),"
          + " nums = ARRAY[1.5, NULL], mood = 'happy' WHERE id < 20");
      OwnedDatabase.execute(n, "INSERT INTO shape VALUES (1, '{{1,2},{3,NULL}}', ARRAY[ROW(1, 'EUR'), NULL]::price[],"
          + " ARRAY['{\"a\": [1, null]}', 'null', NULL]::json[], ARRAY['x,y', ''], ROW(NULL, NULL)),"
          + " (2, NULL, '{}', '{}', '{}', NULL)");
      OwnedDatabase.execute(n, "UPDATE shape SET grid = '{{5}}', p = ROW(3, 'CHF') WHERE id = 2; UPDATE shape SET id = 3 WHERE id = 2;"
          + " DELETE FROM shape WHERE id = 1");
      OwnedDatabase.execute(n, "INSERT INTO loose VALUES ('{1,2}', ROW(1, 'EUR')), ('{3}', NULL), (NULL, ROW(NULL, NULL))");
      OwnedDatabase.execute(n, "UPDATE loose SET a = '{9}' WHERE a = '{1,2}'; DELETE FROM loose WHERE a = '{3}'");
      // Not the floats: 9.6 prints them in more digits than 17 does.
      List<String> queries = List.of("SELECT ROW(id, tags, scores, price, nums, mood)::text FROM account ORDER BY id", "SELECT x::text FROM shape x ORDER BY id",
          "SELECT x::text FROM loose x ORDER BY 1");
      await().atMost(CATCH_UP).until(() -> apply.appliers().stream().anyMatch(a -> a.lastError() != null)
          || sameOnBoth(o, n, queries));
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      assertThat(OwnedDatabase.strings(o, "SELECT count(*)::text FROM shape")).containsExactly("1");
    }
  }

  /** {@link #assertCheckRemediesMakeWhatNewLacks}: check's remedies make on new what it lacks of old's schema. */
  @Test
  void check_newLacksATableAColumnAndASequence_itsStatementsMakeThem(PostgresPair pair) throws Exception {
    assertCheckRemediesMakeWhatNewLacks(database(pair, "lacks"));
  }

  /**
   * {@link #assertRealsComeBackBitForBit}: reals written on 17 arrive on old with the bits new holds.
   * Before, 7.038531e-26 arrived one step off (bits 15ae43fe for new's 15ae43fd), top-level and in arrays.
   */
  @Test
  void reverse_realsWrittenOnNew_arriveOnOldBitForBit(PostgresPair pair) throws Exception {
    assertRealsComeBackBitForBit(OwnedDatabase.create(pair, "reals"));
  }

  /**
   * {@link #assertEdgeRealsComeBackBitForBit}: -0, NaN, infinities, a domain over real[], 2-D
   * arrays with nulls and bounds other than 1, written at extra_float_digits 0, arrive on old with
   * the bits new holds.
   */
  @Test
  void reverse_edgeRealsWrittenOnNewAtExtraFloatDigitsZero_arriveOnOldBitForBit(PostgresPair pair) throws Exception {
    assertEdgeRealsComeBackBitForBit(OwnedDatabase.create(pair, "edgereals"));
  }

  /**
   * Schema changes on a 9.6 old, where nothing captures them (event triggers need a superuser): a
   * column added, a column widened, an enum value added and a NOT NULL column dropped, each used
   * at once. The apply stops at
   * the first such row, and its error points to status; status names each difference with the
   * statement to run on new, and once those have run the apply goes on and loses nothing. Before,
   * status compared no schemas for trigger capture.
   */
  @Test
  void status_schemaChangedOnOldOnly_printsTheStatementsThatLetTheApplyGoOn(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "drift");
    db.executeOnBoth("ALTER TABLE entry ALTER COLUMN note TYPE varchar(20)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      // 9.6 adds an enum value outside a transaction block only.
      OwnedDatabase.execute(o, "ALTER TYPE mood ADD VALUE 'calm' BEFORE 'happy'");
      OwnedDatabase.execute(o, "ALTER TABLE account ADD COLUMN extra int DEFAULT 5; ALTER TABLE entry ALTER COLUMN note TYPE varchar(300);"
          + " ALTER TABLE account DROP COLUMN email; INSERT INTO account (balance) VALUES (1);"
          + " UPDATE account SET mood = 'calm', extra = 6 WHERE id = 1;"
          + " UPDATE entry SET note = repeat('x', 280) WHERE (account_id, n) = (SELECT account_id, n FROM entry ORDER BY 1, 2 LIMIT 1)");
      assertThat(OwnedDatabase.awaitApplyFailure(apply, CATCH_UP)).contains("`cutover-replicator status` prints the statement").doesNotContain("no value is lost");
      List<String> statements = List.of("ALTER TABLE \"public\".\"account\" ADD COLUMN \"extra\" integer DEFAULT 5",
          "ALTER TABLE \"public\".\"entry\" ALTER COLUMN \"note\" TYPE character varying(300) USING \"note\"::character varying(300)",
          "ALTER TYPE \"public\".\"mood\" ADD VALUE 'calm' AFTER 'ok'", "ALTER TABLE \"public\".\"account\" DROP COLUMN \"email\"");
      await().atMost(CATCH_UP).until(() -> db.statusCli().contains("forward (old -> new): FAILING"));
      String status = db.statusCli();
      assertThat(status).as("alive between tries, not stopped").contains("apply into new: retrying a failed batch")
          .doesNotContain("no `cutover-replicator apply` runs");
      assertThat(status).contains("column extra of public.account is on old but not on new")
          .contains("column email of public.account is on new but not on old, NOT NULL without a default")
          .contains("column note of public.entry is character varying(300) on old but character varying(20) on new")
          .contains("enum public.mood has value(s) 'calm' on old but not on new").contains(statements);
      for (String statement : statements) {
        OwnedDatabase.execute(n, statement);
      }
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT mood || ' ' || extra FROM account WHERE id = 1")).containsExactly("calm 6");
      assertThat(OwnedDatabase.strings(n, "SELECT count(*)::text FROM account")).isEqualTo(OwnedDatabase.strings(o, "SELECT count(*)::text FROM account"));
      assertThat(OwnedDatabase.strings(n, "SELECT enum_range(NULL::mood)::text")).containsExactly("{sad,ok,calm,happy}");
      assertThat(db.statusCli()).doesNotContain("on old but").doesNotContain("fails");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * Constraints relaxed on a 9.6 old, where nothing captures it (the first step of many a
   * migration that retires a column): a NOT NULL dropped, a unique constraint, a foreign key, a
   * unique index and a domain's CHECK and NOT NULL dropped, a CHECK widened, each used at once,
   * and a CHECK only renamed. The apply stops at the first row new refuses; status names each
   * constraint new holds and old does not with the statement that lets the apply go on, and
   * leaves the renamed one alone. Before, status named none of them.
   */
  @Test
  void status_constraintsRelaxedOnOldOnly_printsTheStatementsThatLetTheApplyGoOn(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "relaxed");
    db.executeOnBoth("ALTER TABLE counter ADD CONSTRAINT counter_value_check CHECK (value >= 0);"
        + " ALTER TABLE scratch ADD CONSTRAINT scratch_id_check CHECK (id > 0); CREATE UNIQUE INDEX scratch_payload ON scratch (payload)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE account ALTER COLUMN email DROP NOT NULL; ALTER TABLE account DROP CONSTRAINT account_email_key;"
          + " ALTER TABLE entry DROP CONSTRAINT entry_account_id_fkey; DROP INDEX scratch_payload;"
          + " ALTER DOMAIN positive_int DROP CONSTRAINT positive_int_check; ALTER DOMAIN settings DROP NOT NULL;"
          + " ALTER TABLE counter DROP CONSTRAINT counter_value_check, ADD CONSTRAINT counter_value_check CHECK (value >= -10);"
          + " ALTER TABLE scratch RENAME CONSTRAINT scratch_id_check TO scratch_id_positive;"
          + " INSERT INTO account (email, level, prefs) VALUES (NULL, -1, NULL), ((SELECT email FROM account WHERE id = 1), 2, '{}');"
          + " INSERT INTO entry VALUES (999999, 1, 1.5); INSERT INTO scratch VALUES (1001, 'twice'), (1002, 'twice');"
          + " INSERT INTO counter VALUES ('below', -5)");
      assertThat(OwnedDatabase.awaitApplyFailure(apply, CATCH_UP)).contains("fix the cause on new (see `cutover-replicator status`)");
      List<String> statements = List.of("ALTER TABLE \"public\".\"account\" ALTER COLUMN \"email\" DROP NOT NULL",
          "ALTER TABLE \"public\".\"account\" DROP CONSTRAINT \"account_email_key\"",
          "ALTER TABLE \"public\".\"counter\" DROP CONSTRAINT \"counter_value_check\", ADD CONSTRAINT \"counter_value_check\""
              + " CHECK ((value >= '-10'::integer))",
          "ALTER TABLE \"public\".\"entry\" DROP CONSTRAINT \"entry_account_id_fkey\"", "DROP INDEX \"public\".\"scratch_payload\"",
          "ALTER DOMAIN \"public\".\"positive_int\" DROP CONSTRAINT \"positive_int_check\"",
          "ALTER DOMAIN \"public\".\"settings\" DROP NOT NULL");
      String status = db.statusCli();
      assertThat(status).contains("column email of public.account is NOT NULL on new but not on old")
          .contains("constraint account_email_key of public.account (UNIQUE (email)) is on new but not on old")
          .contains("constraint counter_value_check of public.counter is CHECK ((value >= 0)) on new but CHECK ((value >= '-10'::integer)) on old")
          .contains("constraint entry_account_id_fkey of public.entry (FOREIGN KEY (account_id) REFERENCES public.account(id) ON DELETE CASCADE)"
              + " is on new but not on old")
          .contains("unique index scratch_payload of public.scratch (USING btree (payload)) is on new but not on old")
          .contains("constraint positive_int_check of domain public.positive_int (CHECK ((VALUE > 0))) is on new but not on old")
          .contains("domain public.settings is NOT NULL on new but not on old").contains(statements).doesNotContain("scratch_id");
      for (String statement : statements) {
        OwnedDatabase.execute(n, statement);
      }
      r.awaitCaughtUp(CATCH_UP);
      for (String query : List.of("SELECT count(*)::text FROM account", "SELECT count(*)::text FROM entry", "SELECT string_agg(payload, ',' ORDER BY id) FROM scratch",
          "SELECT string_agg(name || value, ',' ORDER BY name) FROM counter")) {
        assertThat(OwnedDatabase.strings(n, query)).as(query).isEqualTo(OwnedDatabase.strings(o, query));
      }
      assertThat(db.statusCli()).doesNotContain("on new but not on old").doesNotContain("counter_value_check");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * What a migration adds on a 9.6 old during the window, where nothing captures it, that
   * replication does not need but the application does once switched: a trigger and its
   * function, a function replaced, a view, a sequence, a policy, a CHECK, a NOT NULL, a unique and
   * a plain index, a domain's CHECK (and a policy on both sides, which 9.6 and 17 print alike). Nothing stops the apply; status names each with what makes it on new, and once
   * those have run, names none. Before, status said nothing, and after a switch new would have
   * taken rows old refuses, run the old function and fired no trigger.
   */
  @Test
  void status_objectsAddedOnOldOnly_namesWhatNewWouldLackAfterASwitch(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "lacking");
    db.executeOnBoth("CREATE FUNCTION fee(n numeric) RETURNS numeric LANGUAGE sql AS 'SELECT n * 0.01';"
        + " CREATE POLICY everyone ON counter USING (true)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "CREATE OR REPLACE FUNCTION fee(n numeric) RETURNS numeric LANGUAGE sql AS 'SELECT n * 0.02';"
          + " CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n  -- a comment\n  NEW.note := coalesce(NEW.note, 'stamped');"
          + "\n  RETURN NEW;\nEND $$;"
          + " CREATE TRIGGER entry_stamp BEFORE INSERT ON entry FOR EACH ROW EXECUTE PROCEDURE stamp();"
          + " CREATE VIEW rich AS SELECT id, balance FROM account WHERE balance > 100;"
          + " ALTER TABLE counter ADD CONSTRAINT counter_positive CHECK (value >= 0); ALTER TABLE scratch ALTER COLUMN payload SET NOT NULL;"
          + " CREATE UNIQUE INDEX scratch_payload ON scratch (payload); CREATE INDEX entry_note ON entry (note);"
          + " ALTER DOMAIN positive_int ADD CONSTRAINT positive_int_small CHECK (VALUE < 1000000);"
          + " CREATE SEQUENCE invoice_no START 100; CREATE POLICY mine ON scratch FOR SELECT TO PUBLIC USING (id < 1000);"
          + " CREATE RULE entry_kept AS ON DELETE TO entry WHERE OLD.amount < 0 DO INSTEAD NOTHING;"
          + " INSERT INTO entry VALUES (1, 100, 1.5)");
      r.awaitCaughtUp(CATCH_UP);
      String status = db.statusCli();
      String run = ". Run on new: SET cutover.ddl_capture = off; ";
      assertThat(status).contains("column payload of public.scratch is NOT NULL on old but not on new: after a switch to new, new would"
              + " take rows without a value in it" + PENDING + run + "ALTER TABLE \"public\".\"scratch\" ALTER COLUMN \"payload\" SET NOT NULL")
          .contains("constraint counter_positive of public.counter (CHECK ((value >= 0))) is on old but not on new: after a switch to new,"
              + " new would take rows old refuses" + PENDING + run + "ALTER TABLE \"public\".\"counter\" ADD CONSTRAINT"
              + " \"counter_positive\" CHECK ((value >= 0))")
          .contains("unique index scratch_payload of public.scratch (USING btree (payload)) is on old but not on new")
          .contains("CREATE UNIQUE INDEX \"scratch_payload\" ON \"public\".\"scratch\" USING btree (payload)")
          .contains("index entry_note of public.entry (USING btree (note)) is on old but not on new: after a switch to new, new would read"
              + " public.entry without it")
          .contains("ALTER DOMAIN \"public\".\"positive_int\" ADD CONSTRAINT \"positive_int_small\" CHECK ((VALUE < 1000000))")
          .contains("function public.fee(numeric) differs on old and new (replaced on one side): after a switch to new, new runs its own"
              + PENDING + ". If old's is the one meant, run on new, after SET cutover.ddl_capture = off, what SELECT"
              + " pg_get_functiondef('public.fee(numeric)'::regprocedure) returns on old; if new's is, replace it on old too")
          .contains("function public.stamp() is on old but not on new: after a switch to new, what calls it there fails" + PENDING + ".")
          .contains("sequence public.invoice_no is on old but not on new: after a switch to new, what draws from it there fails, and the"
              + " switch cannot move it" + PENDING + run + "CREATE SEQUENCE \"public\".\"invoice_no\" AS bigint INCREMENT BY 1 MINVALUE 1"
              + " MAXVALUE 9223372036854775807 START WITH 100 CACHE 1 NO CYCLE")
          .contains("trigger entry_stamp on public.entry is on old but not on new: after a switch to new, it does not fire there" + PENDING
              + run + "CREATE TRIGGER entry_stamp BEFORE INSERT ON public.entry FOR EACH ROW EXECUTE PROCEDURE public.stamp()")
          .contains("policy mine on public.scratch is on old but not on new: after a switch to new, it does not restrict rows there"
              + PENDING + run + "CREATE POLICY mine ON public.scratch FOR SELECT TO PUBLIC USING ((id < 1000))")
          .doesNotContain("policy everyone")
          .contains("rule entry_kept on public.entry is on old but not on new: after a switch to new, it does not rewrite statements"
              + " there" + PENDING + ". Run on new, after SET cutover.ddl_capture = off, what SELECT pg_get_ruledef(oid) FROM pg_rewrite"
              + " WHERE ev_class = '\"public\".\"entry\"'::regclass AND rulename = 'entry_kept' returns on old")
          .contains("view public.rich is on old but not on new: after a switch to new, what reads it there fails" + PENDING + run
              + "CREATE VIEW \"public\".\"rich\" AS, followed by what SELECT pg_get_viewdef('\"public\".\"rich\"'::regclass) returns on old");
      for (String function : List.of("public.fee(numeric)", "public.stamp()")) {
        OwnedDatabase.execute(n, OwnedDatabase.strings(o, "SELECT pg_get_functiondef('" + function + "'::regprocedure)").get(0));
      }
      OwnedDatabase.execute(n, "CREATE VIEW \"public\".\"rich\" AS "
          + OwnedDatabase.strings(o, "SELECT pg_get_viewdef('\"public\".\"rich\"'::regclass)").get(0));
      OwnedDatabase.execute(n, OwnedDatabase.strings(o, "SELECT pg_get_ruledef(oid) FROM pg_rewrite"
          + " WHERE ev_class = '\"public\".\"entry\"'::regclass AND rulename = 'entry_kept'").get(0));
      OwnedDatabase.runPrintedForNew(n, status, line -> line.contains("on old but not on new") && !line.contains("followed by"));
      assertThat(db.statusCli()).doesNotContain("on old but not on new").doesNotContain("differs on old and new");
      assertThat(OwnedDatabase.strings(n, "SELECT fee(100)::text")).containsExactly("2.00");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * Privileges granted and revoked on a 9.6 old during the window, where nothing captures it: a
   * grant with the grant option, a grant to a role new lacks, a revoke from PUBLIC and one of a
   * sequence's USAGE. Nothing stops, but after a switch new would refuse what old allows, or allow
   * what old refuses. Status names each with the GRANT or REVOKE for new, and a grant both sides
   * hold not at all; before, it named none.
   */
  @Test
  void status_privilegesChangedOnOldOnly_namesTheGrantOrRevokeForNew(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "grants");
    String role = "DO $$ BEGIN CREATE ROLE %s; EXCEPTION WHEN duplicate_object THEN NULL; END $$";
    for (Connection admin : List.of(OwnedDatabase.admin(pair.oldServer(), null), OwnedDatabase.admin(pair.newServer(), null))) {
      try (admin) {
        OwnedDatabase.execute(admin, String.format(role, "reporting_drift") + "; " + String.format(role, "\"Odd Drift Role\""));
      }
    }
    try (Connection admin = OwnedDatabase.admin(pair.oldServer(), null)) {
      OwnedDatabase.execute(admin, String.format(role, "auditor_drift"));
    }
    db.executeOnBoth("GRANT SELECT ON account TO reporting_drift; GRANT SELECT, UPDATE ON counter TO PUBLIC;"
        + " GRANT USAGE ON SEQUENCE account_id_seq TO reporting_drift");
    started(db);
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "GRANT SELECT ON entry TO \"Odd Drift Role\" WITH GRANT OPTION; REVOKE ALL ON counter FROM PUBLIC;"
          + " REVOKE USAGE ON SEQUENCE account_id_seq FROM reporting_drift; GRANT SELECT ON scratch TO reporting_drift;"
          + " GRANT SELECT ON keyless TO auditor_drift");
      String status = db.statusCli();
      String run = "run on new: SET cutover.ddl_capture = off; ";
      assertThat(status).contains("role Odd Drift Role has SELECT with grant option on public.entry on old but not on new: after a switch"
              + " to new, it is refused there" + PENDING + ". If old's is the one meant, " + run + "GRANT SELECT ON TABLE \"public\".\"entry\""
              + " TO \"Odd Drift Role\" WITH GRANT OPTION; if new's is (revoked there first), make the same change on old")
          .contains("every role (PUBLIC) has SELECT, UPDATE on public.counter on new but not on old: after a switch to new, it is allowed"
              + " there what old refuses" + PENDING + ". If old's is the one meant, " + run + "REVOKE SELECT, UPDATE ON TABLE"
              + " \"public\".\"counter\" FROM PUBLIC; if new's is (granted there first), make the same change on old")
          .contains("role reporting_drift has USAGE on public.account_id_seq on new but not on old")
          .contains("REVOKE USAGE ON SEQUENCE \"public\".\"account_id_seq\" FROM \"reporting_drift\"")
          .contains("role reporting_drift has SELECT on public.scratch on old but not on new")
          .contains("GRANT SELECT ON TABLE \"public\".\"scratch\" TO \"reporting_drift\"")
          .contains("role auditor_drift has SELECT on public.keyless on old but not on new: after a switch to new, it is refused there"
              + PENDING + ". If old's is the one meant, create the role on new, then " + run)
          .doesNotContain("on public.account on");
      try (Connection admin = OwnedDatabase.admin(pair.newServer(), null)) {
        OwnedDatabase.execute(admin, String.format(role, "auditor_drift"));
      }
      OwnedDatabase.runPrintedForNew(n, status, line -> line.contains(" has "));
      assertThat(db.statusCli()).doesNotContain(" on old but not on new").doesNotContain(" on new but not on old");
    }
  }

  /**
   * The same schema typed into 9.6 and 17 (a team that runs its migrations on both, rather than
   * `schema`): defaults, a CHECK and a policy using SQL value functions, which 9.6 prints as
   * functions ({@code now()}, {@code ('now'::text)::date}) and 10 on by their SQL names, a view
   * and a trigger; and an invalid index on old, left by a CREATE INDEX CONCURRENTLY that failed.
   * Status names no difference; before, it named a default of each such column, and the index.
   */
  @Test
  void status_sameSchemaTypedIntoBothSides_namesNoDifference(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "alike");
    db.executeOnBoth("CREATE TABLE d (id int PRIMARY KEY, a timestamptz DEFAULT CURRENT_TIMESTAMP, b date DEFAULT CURRENT_DATE"
        + " CHECK (b <= CURRENT_DATE + 1000), c time DEFAULT LOCALTIME, e timestamp DEFAULT LOCALTIMESTAMP, f timetz DEFAULT CURRENT_TIME,"
        + " g text DEFAULT CURRENT_USER, h text DEFAULT SESSION_USER, i text DEFAULT CURRENT_SCHEMA, j timestamptz DEFAULT now(),"
        + " k numeric DEFAULT 0, l numeric(5,2) DEFAULT 1.5, m text[] DEFAULT '{}', n varchar(10) DEFAULT '', o boolean DEFAULT false,"
        + " p timestamptz DEFAULT now() + interval '1 day', q int DEFAULT -1, s jsonb DEFAULT '{}'::jsonb, t text DEFAULT 'a' || 'b',"
        + " u timestamp(3) DEFAULT CURRENT_TIMESTAMP(3), v interval DEFAULT '1 hour', w float8 DEFAULT 1e10, y int[] DEFAULT ARRAY[1,2],"
        + " z date DEFAULT CURRENT_DATE + 1); CREATE POLICY own ON d USING (g = CURRENT_USER::text);"
        + " CREATE VIEW dv AS SELECT id, a FROM d WHERE b > CURRENT_DATE;"
        + " CREATE FUNCTION df() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
        + " CREATE TRIGGER dt BEFORE INSERT ON d FOR EACH ROW EXECUTE PROCEDURE df()");
    started(db);
    try (Connection o = db.old()) {
      // A CREATE INDEX CONCURRENTLY that failed leaves an invalid index, which serves no query and pg_dump leaves out.
      OwnedDatabase.execute(o, "INSERT INTO scratch VALUES (2001, 'twice'), (2002, 'twice')");
      assertThatThrownBy(() -> OwnedDatabase.execute(o, "CREATE UNIQUE INDEX CONCURRENTLY scratch_twice ON scratch (payload)"))
          .hasMessageContaining("could not create unique index");
    }
    assertThat(db.statusCli()).doesNotContain("on old but").doesNotContain("on new but").doesNotContain("differs on");
  }

  /**
   * A column and a table renamed on a 9.6 old, where nothing captures it: status offers the rename
   * on new before the statement that creates it afresh, which would leave new's rows behind under
   * the old name (before, it offered only ADD COLUMN for the column, and nothing for the table,
   * whose apply error named no remedy). With the renames run, every row is where it is on old.
   */
  @Test
  void status_tableAndColumnRenamedOnOldOnly_offersTheRenameOnNew(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "renamed");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "ALTER TABLE scratch RENAME COLUMN payload TO body; ALTER TABLE counter RENAME TO tally;"
          + " UPDATE scratch SET body = 'renamed' WHERE id = 1; INSERT INTO tally VALUES ('after', 1); UPDATE tally SET value = value + 1");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      String rename = "ALTER TABLE \"public\".\"scratch\" RENAME COLUMN \"payload\" TO \"body\"";
      assertThat(db.statusCli()).contains("column body of public.scratch is on old but not on new (if a schema change is on its way, it"
          + " arrives with replication); if it is new's column payload renamed on old, run on new: SET cutover.ddl_capture = off; "
          + rename + " (creating it afresh would leave behind the values new holds under the old name); else run on new: SET"
          + " cutover.ddl_capture = off; ALTER TABLE \"public\".\"scratch\" ADD COLUMN \"body\" text");
      OwnedDatabase.execute(n, rename);
      await().atMost(CATCH_UP).until(() -> String.valueOf(apply.appliers().get(0).lastError()).contains("tally"));
      assertThat(apply.appliers().get(0).lastError()).contains("new: table public.tally does not exist").contains("rename or create it");
      String renameTable = "ALTER TABLE \"public\".\"counter\" RENAME TO \"tally\"";
      assertThat(db.statusCli()).contains("table public.tally is on old but not on new").contains("if it is new's table public.counter"
          + " renamed on old, run on new: SET cutover.ddl_capture = off; " + renameTable).contains("CREATE TABLE \"public\".\"tally\"");
      OwnedDatabase.execute(n, renameTable);
      r.awaitCaughtUp(CATCH_UP);
      String tally = "SELECT name || '=' || value FROM tally ORDER BY 1";
      assertThat(OwnedDatabase.strings(n, tally)).isEqualTo(OwnedDatabase.strings(o, tally)).hasSizeGreaterThan(1);
      assertThat(OwnedDatabase.strings(n, "SELECT body FROM scratch WHERE id = 1")).containsExactly("renamed");
      assertThat(db.statusCli()).doesNotContain("on old but");
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * An enum value added on new while the way back into 9.6 runs: status prints the ALTER TYPE to
   * run on old, each statement on its own, since 9.6 adds an enum value outside a transaction
   * block only (a multi-statement string is one); once run, the way back goes on.
   */
  @Test
  void status_enumValueAddedOnNewOnly_wayBackInto96GetsItsStatementsOneByOne(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "backenum");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "ALTER TYPE mood ADD VALUE 'calm' BEFORE 'sad'");
      OwnedDatabase.execute(n, "UPDATE account SET mood = 'calm' WHERE id = 1");
      OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);
      assertThat(db.statusCli()).contains("enum public.mood has value(s) 'calm' on new but not on old: a row holding one stops"
          + " replication (if a schema change is on its way, it arrives with replication); else each statement on its own, run on old:"
          + " SET cutover.ddl_capture = off; ALTER TYPE \"public\".\"mood\" ADD VALUE 'calm' BEFORE 'sad'");
      String add = "ALTER TYPE \"public\".\"mood\" ADD VALUE 'calm' BEFORE 'sad'";
      Properties asPsql = new Properties();
      asPsql.setProperty("user", OwnedDatabase.ROLE);
      asPsql.setProperty("preferQueryMode", "simple");
      try (Connection simple = DriverManager.getConnection(db.url(pair.oldServer()), asPsql)) {
        assertThatThrownBy(() -> OwnedDatabase.execute(simple, "SET cutover.ddl_capture = off; " + add)).as("9.6, in one string as psql -c sends it")
            .hasMessageContaining("multi-command string");
      }
      OwnedDatabase.execute(o, "SET cutover.ddl_capture = off");
      OwnedDatabase.execute(o, add);
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.strings(o, "SELECT mood::text FROM account WHERE id = 1").equals(List.of("calm")));
      assertThat(OwnedDatabase.strings(o, "SELECT enum_range(NULL::mood)::text")).containsExactly("{calm,sad,ok,happy}");
    }
  }

  /**
   * The way back into 9.6: the application writes numeric 'Infinity' on new (17), which 9.6 cannot
   * hold. The apply names the change, and its remedy is the way back's: never cleanup and start
   * again (cleanup removed the way back with every change old had not got, and start would copy old
   * onto new), but the value gone from new's rows and from the logged row; followed, the apply goes
   * on by itself and old ends with new's rows. Before, the remedy was the forward one (found by review).
   */
  @Test
  void apply_wayBackRowOldCannotRead_remedyKeepsTheWayBackAndFollowedLetsTheApplyGoOn(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "back_inf");
    db.executeOnBoth("CREATE TABLE amount (id int PRIMARY KEY, v numeric)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "INSERT INTO amount VALUES (1, 'Infinity'), (2, 2.5)");

      String error = OwnedDatabase.awaitApplyFailure(apply, CATCH_UP);

      java.util.regex.Matcher change = java.util.regex.Pattern.compile("applying change (\\d+) \\(INSERT public\\.amount\\)").matcher(error);
      assertThat(change.find()).as(error).isTrue();
      String seq = change.group(1);
      String status = db.statusCli();
      assertThat(status).contains("old's column types cannot read the row the source logged, so retrying cannot help")
          .contains("this is the way back (new -> old) into old, the side the service left: `cutover-replicator cleanup` and `start`"
              + " again are no remedy")
          .contains("the way back stays blocked at change " + seq + " (a switch back to old cannot catch up meanwhile)")
          .contains("UPDATE cutover.change_log_0 SET new_row = '<the row as old can read it>' WHERE seq = " + seq)
          .contains("`cutover-replicator cleanup --give-up-way-back`")
          .doesNotContain("on the source, then `cutover-replicator cleanup` and `start` again");

      OwnedDatabase.execute(n, "UPDATE amount SET v = 0 WHERE id = 1");
      for (String log : List.of("cutover.change_log_0", "cutover.change_log_1")) {
        OwnedDatabase.execute(n, "UPDATE " + log + " SET new_row = '{\"id\": 1, \"v\": 0}' WHERE seq = " + seq);
      }

      String rows = "SELECT string_agg(id || '=' || v, ',' ORDER BY id) FROM amount";
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.strings(o, rows).equals(OwnedDatabase.strings(n, rows)));
      assertThat(OwnedDatabase.strings(o, rows)).containsExactly("1=0,2=2.5");
      await().atMost(CATCH_UP).until(() -> apply.appliers().stream().allMatch(a -> a.lastError() == null));
    }
  }

  /**
   * The way back into 9.6, where status and adopt write statements for old: a sequence made on new
   * after the switch gets a CREATE SEQUENCE without AS (9.6 has none) that runs on old; a table
   * with an identity column (10+) is adopted onto old as a serial's sequence and DEFAULT nextval; a
   * UNIQUE NULLS NOT DISTINCT (15+) new has and old lacks is said to be impossible on old, with
   * the nearest statement old has (which runs there) and what it lets through. Before, each was a
   * statement that failed on 9.6 (found by review).
   */
  @Test
  void status_objectsMadeOnNewAfterTheSwitch_wayBackInto96GetsStatementsThatRunThere(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "back_ddl");
    db.executeOnBoth("CREATE TABLE code (id int PRIMARY KEY, c text)");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "CREATE SEQUENCE invoice_no AS integer START 5000; SELECT nextval('invoice_no');"
          + " CREATE TABLE ticket (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, note text);"
          + " INSERT INTO ticket (note) VALUES ('a'), ('b');"
          + " ALTER TABLE code ADD CONSTRAINT code_c_once UNIQUE NULLS NOT DISTINCT (c)");

      String status = db.statusCli();

      java.util.regex.Matcher sequence = java.util.regex.Pattern.compile("CREATE SEQUENCE \"public\"\\.\"invoice_no\"[^\n]*").matcher(status);
      assertThat(sequence.find()).as(status).isTrue();
      assertThat(sequence.group()).doesNotContain(" AS ").contains("MAXVALUE 2147483647");
      OwnedDatabase.execute(o, "SET cutover.ddl_capture = off; " + sequence.group());
      assertThat(status).contains("constraint code_c_once of public.code (UNIQUE NULLS NOT DISTINCT (c)) is on new but not on old")
          .contains("It cannot be made on old as it is (constraint code_c_once of public.code uses NULLS NOT DISTINCT, which came"
              + " with PostgreSQL 15: no statement makes it on an older server (this one is 9.x))")
          .doesNotContain("ADD CONSTRAINT \"code_c_once\" UNIQUE NULLS NOT DISTINCT");
      java.util.regex.Matcher nearest = java.util.regex.Pattern.compile("ALTER TABLE \"public\"\\.\"code\" ADD CONSTRAINT \"code_c_once\" UNIQUE \\(c\\)")
          .matcher(status);
      assertThat(nearest.find()).as(status).isTrue();
      OwnedDatabase.execute(o, "SET cutover.ddl_capture = off; " + nearest.group());

      assertThat(db.cli("adopt", "--from", "new", "public.ticket"))
          .contains("adopted public.ticket: made on old, 2 row(s) copied");
      OwnedDatabase.execute(o, "SELECT setval('ticket_id_seq', 100)");
      OwnedDatabase.execute(o, "INSERT INTO ticket (note) VALUES ('drawn on old')");
      assertThat(OwnedDatabase.strings(o, "SELECT id || ' ' || note FROM ticket ORDER BY id")).containsExactly("1 a", "2 b", "101 drawn on old");
    }
  }

  /**
   * Tables created on a 9.6 old after start get no capture triggers (no event trigger without a
   * superuser), and are written before anyone notices. Status names them and {@code adopt}, which,
   * while the application goes on writing into one, makes both on new, captures them and copies
   * the rows they hold: verify then finds no difference. Before, status printed the statements that
   * captured them from then on only, verify found the rows written before missing on new, and the
   * remedy was to clean up and start again.
   */
  @Test
  void adopt_tablesCreatedOnOldAfterStartAndWritten_copiedAndCapturedUnderWrites(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "late");
    Replicator r = started(db);
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger written = new AtomicInteger();
    Thread writer = new Thread(() -> {
      try (Connection w = db.old()) {
        for (int id = 1001; writing.get(); id++) {
          OwnedDatabase.execute(w, "INSERT INTO late (id) VALUES (" + id + "); UPDATE late SET v = 'y' WHERE id = " + (id - 1000));
          written.set(id);
        }
      } catch (SQLException e) {
        throw new IllegalStateException(e);
      }
    }, "late-writer");
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "CREATE TABLE late (id int PRIMARY KEY, v text NOT NULL DEFAULT 'x'); CREATE TABLE early (id int PRIMARY KEY);"
          + " INSERT INTO early VALUES (1); INSERT INTO late (id) SELECT g FROM generate_series(1, 1000) g");
      assertThat(db.statusCli()).contains("2 table(s) on old have no capture triggers").contains("  tables: 7 captured, 2 NOT captured")
          .contains("public.early, public.late. Run `cutover-replicator adopt public.early public.late`: it makes each on new where"
              + " missing, gives it its capture triggers and copies the rows it holds, its writers on old waiting meanwhile");
      writer.start();
      await().atMost(CATCH_UP).until(() -> written.get() > 1050);

      String adopted = db.cli("adopt", "public.early", "public.late");

      int after = written.get();
      await().atMost(CATCH_UP).until(() -> written.get() > after + 50);
      writing.set(false);
      writer.join(CATCH_UP.toMillis());
      assertThat(adopted).contains("adopted public.early: made on new, 1 row(s) copied; its writes on old are captured from now on")
          .contains("adopted public.late: made on new, ");
      OwnedDatabase.execute(o, "INSERT INTO early VALUES (2)");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(db.statusCli()).doesNotContain("NOT captured").doesNotContain("no capture triggers");
      String rows = "SELECT count(*) || ' ' || count(*) FILTER (WHERE v = 'y') FROM late";
      assertThat(OwnedDatabase.strings(n, rows)).isEqualTo(OwnedDatabase.strings(o, rows));
      assertThat(OwnedDatabase.strings(n, "SELECT string_agg(id::text, ',' ORDER BY id) FROM early")).containsExactly("1,2");
    } finally {
      writing.set(false);
    }
    assertThat(r.verify(Verifier.Options.defaults()).differences()).isZero();
  }

  /**
   * The way back: after the switch, a migration on new (17) creates and fills a table, where no
   * event trigger gives it capture triggers for the way back to 9.6. Status names {@code adopt
   * --from new}, which makes it on old, captures it on new and copies it; what is written on new
   * after arrives on old too. Before, status printed statements that captured it from then on only.
   */
  @Test
  void adopt_fromNew_tableCreatedOnNewAfterTheSwitch_madeOnOldWithItsRows(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "back_late");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults())) {
      r.awaitCaughtUp(CATCH_UP);
    }
    r.reverse(new Reverse.Options(Duration.ZERO, Duration.ofSeconds(5)));
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(n, "CREATE TABLE since (id int PRIMARY KEY, v text NOT NULL);"
          + " INSERT INTO since SELECT g, 'v' || g FROM generate_series(1, 300) g");
      assertThat(db.statusCli()).contains("1 table(s) on new have no capture triggers")
          .contains("Run `cutover-replicator adopt --from new public.since`: it makes each on old where missing");

      assertThat(db.cli("adopt", "--from", "new", "public.since"))
          .contains("adopted public.since: made on old, 300 row(s) copied; its writes on new are captured from now on");

      OwnedDatabase.execute(n, "INSERT INTO since VALUES (301, 'late'); UPDATE since SET v = 'changed' WHERE id = 1; DELETE FROM since WHERE id = 2");
      String rows = "SELECT count(*) || ' ' || string_agg(v, ',' ORDER BY id) FILTER (WHERE id IN (1, 3, 301)) FROM since";
      await().atMost(CATCH_UP).until(() -> OwnedDatabase.strings(o, rows).equals(OwnedDatabase.strings(n, rows)));
      assertThat(OwnedDatabase.strings(o, rows)).containsExactly("300 changed,v3,late");
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
    }
  }

  /**
   * A transaction of the application's holding a write on the table to adopt: adopt waits
   * {@code --lock-timeout} for it, then exits 8 naming the table, and leaves everything as it was
   * (no capture triggers on old, no table made on new). Once it ends, adopt copies its row too;
   * adopting again is refused with exit 5, since the table is captured already. A table new holds
   * with a column fewer than old's: exit 5 naming the column, nothing changed on either side.
   */
  @Test
  void adopt_writerHoldsTheTable_exit8LeavingBothSidesAsTheyWere(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "held");
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw();
        Connection writer = db.old()) {
      OwnedDatabase.execute(o, "CREATE TABLE held (id int PRIMARY KEY)");
      writer.setAutoCommit(false);
      OwnedDatabase.execute(writer, "INSERT INTO held VALUES (1)");

      String refused = db.cliExiting(8, "adopt", "public.held", "--lock-timeout", "300ms");

      assertThat(refused).contains("old: could not lock public.held against writes within 300 ms to adopt it").contains("--lock-timeout");
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'held'::regclass")).isZero();
      assertThat(OwnedDatabase.strings(n, "SELECT to_regclass('public.held') IS NULL")).containsExactly("t");
      writer.commit();
      assertThat(db.cli("adopt", "public.held")).contains("adopted public.held: made on new, 1 row(s) copied");
      assertThat(db.cliExiting(5, "adopt", "public.held")).contains("old: public.held has capture triggers already");
      OwnedDatabase.execute(o, "INSERT INTO held VALUES (2)");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(OwnedDatabase.strings(n, "SELECT string_agg(id::text, ',' ORDER BY id) FROM held")).containsExactly("1,2");

      OwnedDatabase.execute(o, "CREATE TABLE odd (id int PRIMARY KEY, note text); INSERT INTO odd VALUES (1, 'x')");
      OwnedDatabase.execute(n, "CREATE TABLE odd (id int PRIMARY KEY); INSERT INTO odd VALUES (7)");
      assertThat(db.cliExiting(5, "adopt", "public.odd")).contains("adopting public.odd failed, and nothing changed on either side:")
          .contains("\"note\"").contains("make it the same");
      assertThat(OwnedDatabase.count(o, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'odd'::regclass")).isZero();
      assertThat(OwnedDatabase.strings(n, "SELECT string_agg(id::text, ',') FROM odd")).containsExactly("7");
    }
  }

  private static boolean sameOnBoth(Connection o, Connection n, List<String> queries) throws java.sql.SQLException {
    for (String q : queries) {
      if (!OwnedDatabase.strings(o, q).equals(OwnedDatabase.strings(n, q))) {
        return false;
      }
    }
    return true;
  }

  /**
   * A 9.x database created SQL_ASCII, which keeps text as bytes unchecked: old sends text as UTF8
   * only where its bytes are valid UTF8, so a Latin-1 value written after start stops the apply
   * at its batch, which applies nothing of it. check warns of that before start, saying what to
   * fix on old.
   */
  @Test
  void check_sqlAsciiSource_warnsThatTextNotValidUtf8StopsReplication(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "ascii", "CREATE TABLE t (id int PRIMARY KEY, v text)", "SELECT 1");
    String name;
    try (Connection o = db.old()) {
      name = o.getCatalog();
    }
    try (Connection su = OwnedDatabase.admin(pair.oldServer(), null)) {
      OwnedDatabase.execute(su, "DROP DATABASE " + name);
      OwnedDatabase.execute(su, "CREATE DATABASE " + name + " OWNER " + OwnedDatabase.ROLE
          + " ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    }
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'plain'), (2, 'utf8 \u00e9')");
    }
    assertThat(db.replicator().check().findings()).filteredOn(f -> f.code().equals("encoding")).singleElement().satisfies(f -> {
      assertThat(f.severity()).isEqualTo(Finding.Severity.WARNING);
      assertThat(f.message()).contains("SQL_ASCII").contains("stops at the first change");
      assertThat(f.remedy()).contains("rewrite every such value on old as UTF8");
    });
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO t VALUES (3, 'latin1 ' || E'caf\\xe9'), (4, 'after')");
      assertThat(OwnedDatabase.awaitApplyFailure(apply, CATCH_UP)).contains("invalid byte sequence for encoding \"UTF8\"");
      assertThat(OwnedDatabase.strings(n, "SELECT id || ' ' || v FROM t ORDER BY id")).containsExactly("1 plain", "2 utf8 \u00e9");
    }
  }

  /**
   * Partitioning the way it was done before PostgreSQL 10: children that INHERIT a parent, with
   * rows of their own in the parent too, keyed and keyless. A statement naming the parent reads
   * and writes its children as well unless it says ONLY, and a ctid is a row's place in its own
   * table only: an update or delete applied to a parent's row must leave the children's rows with
   * the same key, or at the same ctid, as they are.
   */
  @Test
  void apply_parentsWithInheritingChildren_changeOnlyTheParentsOwnRows(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "inherits");
    db.executeOnBoth("CREATE TABLE reading (id int PRIMARY KEY, at date NOT NULL, value int);"
        + " CREATE TABLE reading_2026 (PRIMARY KEY (id)) INHERITS (reading);"
        + " CREATE TABLE journal (at date, line text); CREATE TABLE journal_2026 () INHERITS (journal)");
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO reading SELECT g, '2025-01-01', g FROM generate_series(1, 20) g;"
          + " INSERT INTO reading_2026 SELECT g, '2026-01-01', g FROM generate_series(1, 20) g;"
          + " INSERT INTO journal SELECT '2025-01-01', 'old ' || g FROM generate_series(1, 20) g;"
          + " INSERT INTO journal_2026 SELECT '2026-01-01', 'new ' || g FROM generate_series(1, 20) g");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "UPDATE ONLY reading SET value = -value WHERE id <= 5");
      OwnedDatabase.execute(o, "DELETE FROM ONLY reading WHERE id BETWEEN 6 AND 8");
      OwnedDatabase.execute(o, "UPDATE ONLY reading SET id = id + 100 WHERE id = 9");
      OwnedDatabase.execute(o, "UPDATE ONLY journal SET line = line || ' fixed' WHERE line IN ('old 1', 'old 2')");
      OwnedDatabase.execute(o, "DELETE FROM ONLY journal WHERE line IN ('old 3', 'old 4')");
      OwnedDatabase.execute(o, "UPDATE reading_2026 SET value = 0 WHERE id = 10");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String q : List.of("SELECT id || ' ' || value FROM ONLY reading ORDER BY id", "SELECT id || ' ' || value FROM reading_2026 ORDER BY id",
          "SELECT line FROM ONLY journal ORDER BY line", "SELECT line FROM journal_2026 ORDER BY line")) {
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM reading_2026 WHERE value < 0 OR id > 100")).isZero();
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM journal_2026")).isEqualTo(20);
    }
    db.assertConverged(r);
  }

  /**
   * The way pagila partitioned payments for 9.x: empty parent, children that INHERIT it, and rules
   * that send each INSERT on the parent to its child; the application writes through the parent
   * only. Each row is captured under the child that holds it and arrives there.
   */
  @Test
  void apply_rulesRouteWritesThroughAParent_rowsArriveInTheirChildren(PostgresPair pair) throws Exception {
    OwnedDatabase db = OwnedDatabase.create(pair, "routed");
    StringBuilder schema = new StringBuilder("CREATE TABLE payment (payment_id serial PRIMARY KEY, amount numeric(5,2) NOT NULL,"
        + " paid timestamp NOT NULL);");
    for (int m = 1; m <= 3; m++) {
      String child = "payment_p2007_0" + m;
      String range = "paid >= '2007-0" + m + "-01' AND paid < '2007-0" + (m + 1) + "-01'";
      schema.append(" CREATE TABLE ").append(child).append(" (CHECK (").append(range).append("), PRIMARY KEY (payment_id)) INHERITS (payment);")
          .append(" CREATE RULE ").append(child).append("_insert AS ON INSERT TO payment WHERE (").append(range.replace("paid", "NEW.paid"))
          .append(") DO INSTEAD INSERT INTO ").append(child).append(" VALUES (NEW.*);");
    }
    db.executeOnBoth(schema.toString());
    try (Connection o = db.old()) {
      OwnedDatabase.execute(o, "INSERT INTO payment (amount, paid) SELECT g % 10 + 0.99, '2007-01-01'::timestamp + g * interval '1 day'"
          + " FROM generate_series(0, 80) g");
    }
    Replicator r = started(db);
    try (ApplyProcess apply = r.apply(Applier.Options.defaults()); Connection o = db.old(); Connection n = db.nw()) {
      OwnedDatabase.execute(o, "INSERT INTO payment (amount, paid) SELECT 1.5, '2007-02-14'::timestamp + g * interval '1 hour'"
          + " FROM generate_series(1, 5) g");
      OwnedDatabase.execute(o, "UPDATE payment SET amount = amount + 1 WHERE payment_id % 7 = 0");
      OwnedDatabase.execute(o, "DELETE FROM payment WHERE payment_id % 11 = 0");
      r.awaitCaughtUp(CATCH_UP);
      assertThat(apply.appliers()).allSatisfy(a -> assertThat(a.lastError()).isNull());
      for (String t : List.of("ONLY payment", "payment_p2007_01", "payment_p2007_02", "payment_p2007_03")) {
        String q = "SELECT payment_id || ' ' || amount || ' ' || paid FROM " + t + " ORDER BY payment_id";
        assertThat(OwnedDatabase.strings(n, q)).as(q).isEqualTo(OwnedDatabase.strings(o, q));
      }
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM ONLY payment")).isZero();
      assertThat(OwnedDatabase.count(n, "SELECT count(*) FROM payment")).isEqualTo(OwnedDatabase.count(o, "SELECT count(*) FROM payment"))
          .isGreaterThan(70);
    }
    db.assertConverged(r);
  }
}
