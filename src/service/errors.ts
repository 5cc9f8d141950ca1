// The one error of `service`: a problem that stops it, printed as one line, exit 2.

export class InstallError extends Error {}
