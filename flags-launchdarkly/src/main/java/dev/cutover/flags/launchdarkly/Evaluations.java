package dev.cutover.flags.launchdarkly;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.LDClient;
import java.util.concurrent.atomic.AtomicLong;

/**
 * LaunchDarkly's answers for one flag, cached per context until the flag changes.
 *
 * <p>Why a generation and not only {@code invalidateAll()}: an evaluation that started before a
 * change and finishes after it would otherwise put a stale answer back into the cache. Each entry
 * remembers the generation it was computed in; {@link #invalidate()} moves the generation on
 * <em>after</em> the SDK has stored the new data, so a stale entry is always recognised and
 * recomputed.
 */
final class Evaluations {
  private static final long MAX_CONTEXTS = 10_000;

  private record Entry(long generation, EvaluationDetail<LDValue> detail) {}

  private final LDClient client;
  private final String flagKey;
  private final AtomicLong generation = new AtomicLong();
  private final Cache<LDContext, Entry> cache =
      Caffeine.newBuilder().maximumSize(MAX_CONTEXTS).build();

  Evaluations(LDClient client, String flagKey) {
    this.client = client;
    this.flagKey = flagKey;
  }

  /** The flag's value and the reason for it, for {@code context}; null value when there is none. */
  EvaluationDetail<LDValue> get(LDContext context) {
    long current = generation.get();
    Entry entry = cache.getIfPresent(context);
    if (entry == null || entry.generation() != current) {
      entry = new Entry(current, client.jsonValueVariationDetail(flagKey, context, LDValue.ofNull()));
      cache.put(context, entry);
    }
    return entry.detail();
  }

  /** Forgets every cached answer; called on the SDK's thread after it stored a change. */
  void invalidate() {
    generation.incrementAndGet();
    cache.invalidateAll();
  }

  long size() {
    return cache.estimatedSize();
  }
}
