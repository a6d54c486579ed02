import { EchoService, file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import { createEchoService } from "../echo-service.js";
import { defineService } from "../hosted.js";

// The demo API (`--service echo`, the replica's default).
export default defineService({
  service: EchoService,
  file: file_acme_echo_v1_echo,
  implement: (ctx) => createEchoService({ name: ctx.replica, faults: ctx.faults, stats: ctx.stats }).impl,
});
