import { readConfigFile, validateConfig } from '../../config/load.js';
import { configReference } from '../../config/reference.js';

export const configUsage = `wharf config check FILE        Validate a config file and print every problem with its path
  wharf config reference         Print the configuration reference (Markdown)`;

export async function configCommand(args: string[]): Promise<number> {
  const [sub, file] = args;
  if (sub === 'reference') {
    process.stdout.write(configReference());
    return 0;
  }
  if (sub === 'check' && file) {
    validateConfig(await readConfigFile(file), file);
    process.stdout.write(`${file}: configuration is valid\n`);
    return 0;
  }
  process.stderr.write('usage: wharf config check FILE | wharf config reference\n');
  return 2;
}
