package dev.cutover.flags.launchdarkly;

/**
 * What LaunchDarkly's service endpoints send, as JSON text: flags, the streaming {@code put}
 * event and the polling body. Flags are minimal but complete enough for the real SDK to evaluate.
 * Public (and in the flags test-jar) for the driver's end-to-end tests.
 */
public final class LaunchDarklyPayloads {
  public static final String FLAG_KEY = "app-db-cutover";

  private LaunchDarklyPayloads() {}

  /** A string flag with variations old, new (and any extras) serving {@code served} to everyone. */
  public static String stringFlag(int version, String served, String... extraVariations) {
    StringBuilder variations = new StringBuilder("\"old\",\"new\"");
    for (String extra : extraVariations) {
      variations.append(",\"").append(extra).append('"');
    }
    int index =
        served.equals("old") ? 0 : served.equals("new") ? 1 : 2 + indexOf(extraVariations, served);
    return flag(version, "[" + variations + "]", index, "");
  }

  /** A boolean flag serving {@code served} to everyone. */
  public static String boolFlag(int version, boolean served) {
    return flag(version, "[false,true]", served ? 1 : 0, "");
  }

  /** A number flag: never a routing target. */
  public static String numberFlag(int version, int served) {
    return flag(version, "[" + served + "]", 0, "");
  }

  /**
   * A string flag serving old to everyone except the contexts of kind service with key {@code
   * serviceKey}, and the contexts whose instanceId is {@code instanceId}, which get new.
   */
  public static String targetedFlag(int version, String serviceKey, String instanceId) {
    String targeting =
        ",\"contextTargets\":[{\"contextKind\":\"service\",\"values\":[\""
            + serviceKey
            + "\"],\"variation\":1}]"
            + ",\"rules\":[{\"id\":\"canary\",\"variation\":1,\"clauses\":[{\"contextKind\":\"service\","
            + "\"attribute\":\"instanceId\",\"op\":\"in\",\"values\":[\""
            + instanceId
            + "\"],\"negate\":false}]}]";
    return flag(version, "[\"old\",\"new\"]", 0, targeting);
  }

  private static String flag(int version, String variations, int fallthrough, String extra) {
    return "{\"key\":\""
        + FLAG_KEY
        + "\",\"version\":"
        + version
        + ",\"on\":true,\"variations\":"
        + variations
        + ",\"fallthrough\":{\"variation\":"
        + fallthrough
        + "},\"offVariation\":0,\"salt\":\"\""
        + extra
        + "}";
  }

  /** The polling body ({@code GET /sdk/latest-all}) holding one flag. */
  public static String all(String flag) {
    return "{\"flags\":{\"" + FLAG_KEY + "\":" + flag + "},\"segments\":{}}";
  }

  /** A streaming {@code put} event replacing all data with one flag. */
  public static String put(String flag) {
    return "event: put\ndata: {\"path\":\"/\",\"data\":" + all(flag) + "}\n\n";
  }

  /** A streaming {@code patch} event updating one flag (its version must grow). */
  public static String patch(String flag) {
    return "event: patch\ndata: {\"path\":\"/flags/" + FLAG_KEY + "\",\"data\":" + flag + "}\n\n";
  }

  private static int indexOf(String[] values, String value) {
    for (int i = 0; i < values.length; i++) {
      if (values[i].equals(value)) {
        return i;
      }
    }
    throw new IllegalArgumentException(value + " is not a variation");
  }
}
