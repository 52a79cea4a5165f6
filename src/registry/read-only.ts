// Maintenance mode (Distribution's storage.maintenance.readonly): pulls go on, nothing changes content. Switched
// at start from registry.readOnly, and at run time by an admin (PUT /admin/v1/read-only) until the next restart.

export interface ReadOnlyState {
  readonly enabled: boolean;
  /** When it was last switched (ISO-8601), null when it has been as configured since start. */
  readonly since: string | null;
  readonly by: string | null;
}

export class ReadOnlySwitch {
  private state: ReadOnlyState;

  constructor(enabled: boolean) {
    this.state = { enabled, since: null, by: null };
  }

  get enabled(): boolean {
    return this.state.enabled;
  }

  get current(): ReadOnlyState {
    return this.state;
  }

  /** Returns whether it changed. */
  set(enabled: boolean, by: string | null): boolean {
    if (enabled === this.state.enabled) return false;
    this.state = { enabled, since: new Date().toISOString(), by };
    return true;
  }
}

export const readOnlyMessage = 'the registry is in read-only mode (maintenance): pulls work, pushes and deletes are refused; retry later';
