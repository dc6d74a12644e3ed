import type { IncomingMessage } from 'node:http';
import type Dockerode from 'dockerode';

/**
 * A streaming GET on the engine's socket (logs, stats, /berth/stats), through dockerode's
 * modem so every connection kind (socket, SSH) works. A non-2xx answer rejects with
 * dockerode's usual error (statusCode + json), which the transport maps to a message.
 */
export function dialStream(docker: Dockerode, path: string, query: Record<string, string | number | boolean>, statusCodes: Record<number, string | boolean> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `${path}?`,
        method: 'GET',
        isStream: true,
        options: query,
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error', ...statusCodes },
      },
      (err, result) => {
        if (err !== null) reject(err);
        else resolve(result as IncomingMessage);
      },
    );
  });
}
