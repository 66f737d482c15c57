"""Checks of deploy/airflow/dags/olist_pipeline.py that need no Airflow installed.

The DAG file is read with Python's own parser (ast), never imported, so nothing of Airflow,
its providers or the Kubernetes client is stubbed: the checks look at what the file says. The
two plain functions the tasks are built from (the plan's shell command, the mapped arguments)
are compiled on their own from the file's source and run.

    python3 -m unittest discover -s deploy/airflow/tests -v
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import unittest
from pathlib import Path

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "olist_pipeline.py"
SOURCE = DAG_FILE.read_text(encoding="utf-8")
TREE = ast.parse(SOURCE, filename=str(DAG_FILE))


def calls(name: str) -> list[ast.Call]:
    """Every call of `name` (a plain name or the last part of an attribute)."""
    found = []
    for node in ast.walk(TREE):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called == name:
                found.append(node)
    return found


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def function(name: str) -> ast.FunctionDef:
    return next(n for n in TREE.body if isinstance(n, ast.FunctionDef) and n.name == name)


def module_constants() -> dict[str, object]:
    """The module's top-level assignments whose values are literals (or sums of them)."""
    constants: dict[str, object] = {}
    for node in TREE.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return constants


def compiled(name: str, **namespace: object):
    """One undecorated function of the file, compiled alone with the given globals."""
    node = function(name)
    node = ast.FunctionDef(**{**node.__dict__, "decorator_list": []})
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    scope = {"__builtins__": __builtins__, **namespace}
    exec(compile(module, str(DAG_FILE), "exec"), scope)  # noqa: S102 - the project's own file
    return scope[name]


class DagStructure(unittest.TestCase):
    def test_declares_one_dag_that_never_runs_twice_at_once(self) -> None:
        dags = calls("DAG")
        self.assertEqual(len(dags), 1)
        self.assertEqual(ast.literal_eval(keyword(dags[0], "dag_id")), "olist_pipeline")
        self.assertEqual(ast.literal_eval(keyword(dags[0], "max_active_runs")), 1)
        self.assertFalse(ast.literal_eval(keyword(dags[0], "catchup")))
        # It is the context manager the tasks are made in.
        withs = [n for n in ast.walk(TREE) if isinstance(n, ast.With)]
        self.assertTrue(any(item.context_expr is dags[0] for w in withs for item in w.items))

    def test_runs_the_project_image_with_kubernetes_pod_operator(self) -> None:
        imports = {
            alias.name: node.module
            for node in ast.walk(TREE)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        self.assertEqual(imports["KubernetesPodOperator"], "airflow.providers.cncf.kubernetes.operators.pod")
        image = next(
            n.value
            for n in TREE.body
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "IMAGE"
        )
        # os.environ.get("OLIST_PIPELINE_IMAGE", "<default>")
        self.assertEqual([ast.literal_eval(a) for a in image.args], ["OLIST_PIPELINE_IMAGE", "singer-ts-pipeline:latest"])
        pod = next(n.value for n in TREE.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "POD")
        self.assertEqual(keyword(pod, "image").id, "IMAGE")
        # Every operator call takes the shared pod settings.
        operators = calls("KubernetesPodOperator") + calls("partial")
        self.assertEqual(len(operators), 2)
        for call in operators:
            self.assertIn("POD", [k.value.id for k in call.keywords if k.arg is None])

    def test_maps_one_task_per_unit_over_the_plan_output(self) -> None:
        expands = calls("expand")
        self.assertEqual(len(expands), 1)
        expand = expands[0]
        partial = expand.func.value
        self.assertIsInstance(partial, ast.Call)
        self.assertEqual(ast.unparse(partial.func), "KubernetesPodOperator.partial")
        self.assertEqual([k.arg for k in expand.keywords], ["arguments"])
        self.assertEqual(ast.unparse(expand.keywords[0].value), "unit_arguments(plan.output, stage)")
        # unit_arguments is a task (its result is the mapped list), and bounded per run.
        self.assertEqual([ast.unparse(d) for d in function("unit_arguments").decorator_list], ["task"])
        self.assertEqual(ast.unparse(keyword(partial, "max_active_tis_per_dagrun")), "PARALLELISM")
        self.assertEqual(ast.unparse(keyword(partial, "cmds")), "['node', RUN_UNIT]")

    def test_plans_each_stage_with_plan_units_and_pushes_the_plan_as_xcom(self) -> None:
        constants = module_constants()
        self.assertEqual(constants["PLAN_UNITS"], "scripts/devkit/dist/plan-units.js")
        self.assertEqual(constants["RUN_UNIT"], "scripts/devkit/dist/run-unit.js")
        plan = next(c for c in calls("KubernetesPodOperator") if isinstance(c.func, ast.Name))
        self.assertTrue(ast.literal_eval(keyword(plan, "do_xcom_push")))
        self.assertEqual(ast.unparse(keyword(plan, "arguments")), "[plan_command(stage)]")

    def test_orders_plan_1_units_1_plan_2_units_2(self) -> None:
        body = next(n for n in TREE.body if isinstance(n, ast.With)).body
        lines = [ast.unparse(n) for n in body]
        self.assertEqual(
            lines,
            [
                "plan_1 = plan_units(1)",
                "units_1 = run_units(1, plan_1)",
                "plan_2 = plan_units(2)",
                "units_2 = run_units(2, plan_2)",
                "units_1 >> plan_2",
            ],
        )

    def test_gives_each_stage_only_the_credentials_it_needs(self) -> None:
        stage_credentials = next(
            n.value for n in TREE.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", None) == "STAGE_CREDENTIALS"
        )
        names = {
            ast.literal_eval(k): [ast.literal_eval(a) for a in v.args]
            for k, v in zip(stage_credentials.keys, stage_credentials.values)
        }
        self.assertEqual(
            names,
            {
                1: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "KAGGLE_USERNAME", "KAGGLE_KEY"],
                2: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"],
            },
        )


class DagFunctions(unittest.TestCase):
    def test_unit_arguments_run_each_unit_by_its_id_in_plan_order(self) -> None:
        unit_arguments = compiled("unit_arguments")
        units = [
            {"stage": 2, "unit": "orders/2024/01", "table": "orders"},
            {"stage": 2, "unit": "customers#3", "table": "customers"},
        ]
        self.assertEqual(
            unit_arguments(units, 2),
            [["--stage", "2", "--unit", "orders/2024/01"], ["--stage", "2", "--unit", "customers#3"]],
        )
        self.assertEqual(unit_arguments([], 1), [])

    @unittest.skipUnless(shutil.which("node"), "runs the command's node -e, as the image does")
    def test_the_plan_command_turns_plan_units_lines_into_one_json_list(self) -> None:
        constants = module_constants()
        plan_command = compiled("plan_command", PLAN_UNITS=constants["PLAN_UNITS"], JSON_LINES_TO_LIST=constants["JSON_LINES_TO_LIST"])
        self.assertEqual(
            plan_command(2).split(" && ")[0],
            "node scripts/devkit/dist/plan-units.js --stage 2 > /tmp/units.jsonl",
        )
        self.assertTrue(plan_command(1).endswith(" > /airflow/xcom/return.json"))
        with tempfile.TemporaryDirectory() as app:
            # A stand-in for plan-units in the image's layout: JSON lines on stdout, a log on stderr.
            dist = Path(app, "scripts", "devkit", "dist")
            dist.mkdir(parents=True)
            (dist / "plan-units.js").write_text(
                textwrap.dedent(
                    """
                    console.error('INFO planning');
                    for (const unit of ["customers", "orders's/\\\\x"]) {
                      console.log(JSON.stringify({ stage: Number(process.argv[3]), unit, table: unit }));
                    }
                    """
                )
            )
            xcom = Path(app, "return.json")
            command = plan_command(2, xcom_file=str(xcom)).replace("/tmp/units.jsonl", str(Path(app, "units.jsonl")))
            result = subprocess.run(["/bin/sh", "-c", command], cwd=app, capture_output=True, text=True, env=os.environ)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(
                json.loads(xcom.read_text()),
                [
                    {"stage": 2, "unit": "customers", "table": "customers"},
                    {"stage": 2, "unit": "orders's/\\x", "table": "orders's/\\x"},
                ],
            )


if __name__ == "__main__":
    unittest.main()
