import type { Command, Option } from 'commander';
export function registerServeCommands(_program: Command, _helpers: { dbOption: () => Option; nowOption: () => Option; run: unknown }): void {}
