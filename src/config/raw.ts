// The entries of the configuration's lists as written in a file, before they are checked.

/** A raw backend as written in the config file. */
export interface RawBackend {
  name?: unknown;
  mount?: unknown;
  baseUrl?: unknown;
  caFile?: unknown;
  servername?: unknown;
  timeoutMs?: unknown;
  allowedPaths?: unknown;
  allowedMethods?: unknown;
  allowPathParameters?: unknown;
  auth?: unknown;
}

/** One cloud endpoint as written in the config file or the endpoints file. */
export interface RawEndpoint {
  url: string;
  token?: string;
  tokenFile?: string;
  /** NetBackup's name for the group; `group` is its alias. */
  groupId?: string | number;
  group?: string | number;
  priority?: number;
  /** The host the cloud application expects to be dialled (NetBackup's endpoint details); checked against the URL. */
  hostName?: string;
}
