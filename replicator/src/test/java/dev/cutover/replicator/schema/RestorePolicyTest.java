package dev.cutover.replicator.schema;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Reading the roles a pg_dump script names, from the lines pg_dump writes. */
class RestorePolicyTest {
  private static final String DUMP = String.join("\n",
      "ALTER SCHEMA public OWNER TO postgres;",
      "CREATE TABLE \"Odd\".\"T\" (id int);",
      "ALTER TABLE \"Odd\".\"T\" OWNER TO \"Mixed \"\"Case\"\" Owner\";",
      "CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$",
      "  SELECT 1; -- ALTER TABLE x OWNER TO someone_in_a_comment",
      "$$;",
      "REVOKE USAGE ON SCHEMA public FROM PUBLIC;",
      "GRANT ALL ON SCHEMA public TO PUBLIC;",
      "GRANT SELECT,INSERT ON TABLE public.t TO app_rw, \"Report User\" WITH GRANT OPTION;",
      "ALTER DEFAULT PRIVILEGES FOR ROLE migrator IN SCHEMA public GRANT SELECT ON TABLES TO reader;");

  @Test
  void owners_dumpLines_areReadUnquoted() {
    assertThat(RestorePolicy.owners(DUMP)).containsExactly("Mixed \"Case\" Owner", "postgres");
  }

  @Test
  void grantees_grantRevokeAndDefaults_areReadWithoutPublic() {
    assertThat(RestorePolicy.grantees(DUMP)).containsExactly("Report User", "app_rw", "migrator", "reader");
  }
}
