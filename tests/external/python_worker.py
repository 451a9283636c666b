"""An ERP stand-in worker on Camunda's Python client (camunda-external-task-client-python3), unchanged.

Usage: python python_worker.py BASE_URL USER TOKEN WORKER_ID. Prices a quote at 1,000 a unit;
quantity 0 is a business error (NO_PRICE). Runs until SIGTERM: the client has no stop call."""
import logging
import sys
import time

from camunda.external_task.external_task_worker import ExternalTaskWorker


def main(base, user, token, worker_id):
    logging.basicConfig(level=logging.WARNING)
    config = {"auth_basic": {"username": user, "password": token}, "maxTasks": 2, "lockDuration": 20_000,
              "asyncResponseTimeout": 3_000, "retries": 3, "retryTimeout": 1_000, "sleepSeconds": 1}

    def price(task):
        time.sleep(0.2)  # long enough for the others to race for the same tasks meanwhile
        quantity = task.get_variable("quantity")
        if quantity == 0:
            return task.bpmn_error("NO_PRICE", "no list price for zero units", {"erp_reason": "zero units"})
        print(f"completing {task.get_task_id()}", flush=True)
        return task.complete({"net_price": quantity * 1000, "priced_by": worker_id,
                              "priced_key": task.get_business_key()})

    print("polling", flush=True)  # the test starts the deals once every worker polls
    ExternalTaskWorker(worker_id=worker_id, base_url=base, config=config).subscribe("erp.price_quote", price)


if __name__ == "__main__":
    main(*sys.argv[1:5])
