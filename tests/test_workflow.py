"""The deploy workflow: write permissions and the Pages concurrency group only where they are needed, and the same
checks as .ci/run (so a change that CI would refuse cannot be deployed)."""
import re
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
wf = yaml.safe_load((ROOT / '.github/workflows/deploy.yml').read_text())

def test_permissions_and_concurrency_are_scoped_to_the_deploy_job():
    assert wf.get('permissions') == {'contents': 'read'}
    assert 'concurrency' not in wf
    test, deploy = wf['jobs']['test'], wf['jobs']['deploy']
    assert 'permissions' not in test and test['concurrency']['group'] != 'pages'
    assert deploy['permissions']['pages'] == 'write' and deploy['concurrency'] == {'group': 'pages', 'cancel-in-progress': False}
    assert deploy['if'] == "github.event_name != 'pull_request'" and deploy['needs'] == 'test'

def test_the_test_job_runs_what_ci_runs():
    ci = (ROOT / '.ci/run').read_text()
    ci_targets = re.findall(r'^make (\S+)', ci, flags=re.M)
    job_targets = [re.match(r'make (\S+)', s['run']).group(1) for s in wf['jobs']['test']['steps'] if 'run' in s]
    assert job_targets == ci_targets, (job_targets, ci_targets)
