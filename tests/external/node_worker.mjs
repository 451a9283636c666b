// An ERP stand-in worker on Camunda's Node client (camunda-external-task-client-js), unchanged.
// Usage: node node_worker.mjs BASE_URL USER TOKEN WORKER_ID. Prices a quote at 1,000 a unit; quantity 0 is
// a business error (NO_PRICE). Stops on SIGTERM (client.stop()).
import { Client, BasicAuthInterceptor, Variables } from "camunda-external-task-client-js";

const [baseUrl, username, password, workerId] = process.argv.slice(2);
const client = new Client({
  baseUrl, workerId, maxTasks: 2, lockDuration: 20000, asyncResponseTimeout: 3000, interval: 100,
  interceptors: new BasicAuthInterceptor({ username, password }),
});
client.on("complete:error", (task, e) => console.log(`complete failed ${task.id} ${e}`));
client.on("poll:error", (e) => console.log(`poll failed ${e}`));
client.once("poll:start", () => console.log("polling"));  // the test starts the deals once every worker polls

client.subscribe("erp.price_quote", async ({ task, taskService }) => {
  await new Promise((r) => setTimeout(r, 200));  // long enough for the others to race for the same tasks
  const quantity = task.variables.get("quantity");
  if (quantity === 0) {
    await taskService.handleBpmnError(task, "NO_PRICE", "no list price for zero units");
    return;
  }
  const out = new Variables().set("net_price", quantity * 1000).set("priced_by", workerId)
    .set("price_lines", [{ sku: "P-1", qty: quantity }]);
  console.log(`completing ${task.id}`);
  await taskService.complete(task, out);
});

process.on("SIGTERM", () => { client.stop(); process.exit(0); });
