export function main(): void {
  process.exitCode = 1;
}
