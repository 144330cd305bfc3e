// The reader page: follow the live stream.
import { LiveStream } from "./live.js";

const root = document.querySelector("[data-live]");
if (root) new LiveStream(root).start();
