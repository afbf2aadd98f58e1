export async function summaryCommand(): Promise<void> {}
