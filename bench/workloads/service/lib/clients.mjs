// Clients a real service would configure: object storage, HTTP, a web app, a logger.
// Nothing here talks to the network: the flow only prepares requests.
import { S3Client, PutObjectCommand } from "@aws-sdk/client-s3";
import axios from "axios";
import express from "express";
import pino from "pino";

export const log = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));

export function uploadRequest(bucket, key, body) {
  const client = new S3Client({ region: "eu-north-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  const command = new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/yaml" });
  client.destroy();
  return { bucket: command.input.Bucket, key: command.input.Key, bytes: Buffer.byteLength(body) };
}

export function httpClient() {
  return axios.create({ baseURL: "http://127.0.0.1:9", timeout: 1000, headers: { "user-agent": "bench-service" } });
}

export function app() {
  const server = express();
  server.get("/health", (_req, res) => res.json({ ok: true }));
  return server;
}
