// Shared pieces: copy buttons, the pull commands, a confirmation dialog, platform chips, badges.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { platform } from './format';

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    } catch {
      window.prompt('Copy:', text);
    }
  };
  return (
    <button type="button" class="copy" aria-label={label} title={label} onClick={copy}>
      {done ? 'Copied' : 'Copy'}
    </button>
  );
}

export function PullCommands({ host, repository, reference }: { host: string; repository: string; reference: string }) {
  const ref = reference.includes(':') ? `@${reference}` : `:${reference}`;
  const image = `${host}/${repository}${ref}`;
  const commands: [string, string][] = [
    ['docker', `docker pull ${image}`],
    ['podman', `podman pull ${image}`],
    ['skopeo', `skopeo copy docker://${image} oci:${repository.split('/').pop()}`],
  ];
  return (
    <section class="pull" aria-label="Pull commands">
      {commands.map(([tool, cmd]) => (
        <div class="cmd" key={tool}>
          <span class="tool">{tool}</span>
          <code data-testid={`pull-${tool}`}>{cmd}</code>
          <CopyButton text={cmd} label={`Copy ${tool} pull command`} />
        </div>
      ))}
    </section>
  );
}

export function Confirm({ title, children, action, onConfirm, onClose }: { title: string; children: ComponentChildren; action: string; onConfirm: () => void; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-label={title} onClose={onClose}>
      <h2>{title}</h2>
      <div class="dialog-body">{children}</div>
      <div class="row end">
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => {
          onConfirm();
          ref.current?.close();
        }}>
          {action}
        </button>
      </div>
    </dialog>
  );
}

export function Platforms({ list }: { list: { os: string; architecture: string; variant?: string }[] }) {
  if (list.length === 0) return null;
  return (
    <span class="chips" aria-label="Platforms">
      {list.map((p) => (
        <span class="chip" key={platform(p)}>
          {platform(p)}
        </span>
      ))}
    </span>
  );
}

export function Badges({ r }: { r: { signed: boolean; sbom: boolean; attestations: number } }) {
  return (
    <span class="chips">
      {r.signed && <span class="badge ok">signed</span>}
      {r.sbom && <span class="badge info">SBOM</span>}
      {!r.signed && !r.sbom && r.attestations > 0 && <span class="badge">{r.attestations} referrer{r.attestations > 1 ? 's' : ''}</span>}
    </span>
  );
}

export function ErrorBox({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}
