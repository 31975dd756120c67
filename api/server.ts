/** Listening for an app: resolves once bound (port 0 picks a free port) and closes gracefully. */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Express } from "express";

export interface ListeningServer {
  server: Server;
  /** http://host:port, with the bound port. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish (idle keep-alive sockets are closed at once). */
  close(): Promise<void>;
}

export function listen(app: Express, options: { port: number; host?: string }): Promise<ListeningServer> {
  const host = options.host ?? "127.0.0.1";
  return new Promise((resolve, reject) => {
    const server = app.listen(options.port, host);
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      const { port } = server.address() as AddressInfo;
      const shownHost = host.includes(":") ? `[${host}]` : host;
      let closing: Promise<void> | undefined;
      resolve({
        server,
        port,
        url: `http://${shownHost === "0.0.0.0" ? "127.0.0.1" : shownHost}:${port}`,
        close() {
          closing ??= new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    });
  });
}
