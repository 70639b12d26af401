// Every registered job type: adding one is its file and one line here.
export { echo } from "./echo";
export { fail } from "./fail";
export { sleep } from "./sleep";
