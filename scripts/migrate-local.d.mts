/**
 * Migrates every D1 binding of wrangler.toml under `persistTo` (wrangler
 * dev's --persist-to; default `.wrangler/state`). Resolves to how many
 * migrations it applied per binding.
 */
export function migrateLocal(persistTo?: string): Promise<Record<string, number>>;
