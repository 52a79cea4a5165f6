import type { WebhookEndpoint } from './config.js';
import type { RegistryEvent } from './event.js';

export interface FormattedEvent {
  readonly contentType: string;
  readonly body: string;
}

/** Distribution's notification envelope, so receivers written for Distribution work unchanged. */
function distributionEnvelope(event: RegistryEvent): FormattedEvent {
  const { target } = event;
  return {
    contentType: 'application/vnd.docker.distribution.events.v2+json',
    body: JSON.stringify({
      events: [
        {
          ...event,
          target: {
            mediaType: target.mediaType,
            digest: target.digest,
            size: target.size,
            length: target.size,
            repository: target.repository,
            url: event.request.host ? `http://${event.request.host}/v2/${target.repository}/manifests/${target.digest}` : undefined,
            tag: target.tag,
          },
        },
      ],
    }),
  };
}

const cloudEventTypes = { push: 'pushed', pull: 'pulled', delete: 'deleted', mount: 'mounted' } as const;

/** CloudEvents 1.0, structured JSON mode. */
function cloudEvent(event: RegistryEvent): FormattedEvent {
  const { target } = event;
  return {
    contentType: 'application/cloudevents+json',
    body: JSON.stringify({
      specversion: '1.0',
      id: event.id,
      source: `wharf://${event.source.addr}`,
      type: `io.wharf.artifact.${cloudEventTypes[event.action]}`,
      time: event.timestamp,
      subject: target.tag ? `${target.repository}:${target.tag}` : `${target.repository}@${target.digest}`,
      datacontenttype: 'application/json',
      data: { target, request: event.request, actor: event.actor },
    }),
  };
}

export function formatEvent(event: RegistryEvent, format: WebhookEndpoint['format']): FormattedEvent {
  return format === 'cloudevents' ? cloudEvent(event) : distributionEnvelope(event);
}
