/**
 * Counts what goes through a Broker and stamps envelopes with their publish time, without changing its behaviour:
 * publish -> natter_broker_published_total / _publish_failures_total; receive -> natter_broker_received_total and
 * natter_broker_lag_seconds (publish on any instance -> receipt here, wall clock). Every other member (probe,
 * control events, stats…) passes through untouched.
 */
import type { Metrics } from '../../core/metrics.js';
import type { Broker, Envelope } from '../../core/ports.js';
import type { RoomId } from '../../core/types.js';

export function instrumentBroker(broker: Broker, metrics: Metrics, now: () => number = Date.now): Broker {
  const publish = async (room: RoomId, envelope: Envelope): Promise<void> => {
    try {
      envelope.sentAt = now(); // each envelope is made for its one publish: stamped in place, not copied
      await broker.publish(room, envelope);
      metrics.count('brokerPublished', { kind: envelope.kind });
    } catch (err) {
      metrics.count('brokerPublishFailures', { kind: envelope.kind });
      throw err;
    }
  };
  const onEnvelope = (handler: (envelope: Envelope) => void): void =>
    broker.onEnvelope((envelope) => {
      metrics.count('brokerReceived', { kind: envelope.kind });
      if (typeof envelope.sentAt === 'number') metrics.observe('brokerLag', Math.max(0, now() - envelope.sentAt) / 1000);
      handler(envelope);
    });
  return new Proxy(broker, {
    get(target, property) {
      if (property === 'publish') return publish;
      if (property === 'onEnvelope') return onEnvelope;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
