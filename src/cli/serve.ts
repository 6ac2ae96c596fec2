import { defineCommand } from './command-line.js';

/** `tollgate serve`: the gateway itself (what `npm start` runs). */
export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Run the gateway (what npm start runs).',
  description:
    'Configured by the environment: PORT, HOST, DATABASE_URL, TOLLGATE_DATA_DIR, UPSTREAM_BASE_URL,\nUPSTREAM_API_KEY, TOLLGATE_MASTER_KEYS, … (see .env.example). Stops cleanly on SIGTERM or SIGINT.',
  flags: {},
  async action() {
    // Loaded only when serving, so help and the other commands start without the whole gateway.
    const { main } = await import('../main.js');
    await main(process.env);
  },
});
