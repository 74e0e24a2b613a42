"""Save and load round trips: checkpoints, EMA, estimators; checkpoints never run code when loaded."""
import pickle
import torch, pytest
from torch import nn
from otnb.nets import TimeMLP
from otnb.train import EMA, Estimator, save_checkpoint, load_checkpoint, read_checkpoint, train

class Field(Estimator):
    def __init__(self, dim=2, width=16):
        super().__init__(dim=dim, width=width)
        self.dim, self.net = dim, TimeMLP(dim, width=width)
    def fit(self, data, n_iters=10):
        train(lambda b: self.net(0.5, b).pow(2).mean(), self, n_iters, samplers=[self.sampler(data, 'data')], batch_size=8,
              progress=False, history=self.log('loss'), seed=0)
        return self

def test_estimator_round_trip(tmp_path):
    est = Field().fit(torch.randn(32, 2))
    est.save(tmp_path / 'f.pt')
    again = Field.from_checkpoint(tmp_path / 'f.pt')
    x = torch.randn(5, 2)
    with torch.no_grad(): assert torch.equal(again.net(0.3, x), est.net(0.3, x))
    assert again.history == est.history and again.config == {'dim': 2, 'width': 16}
    other = Field().load(tmp_path / 'f.pt')
    assert other.history['loss'] == est.history['loss']

def test_wrong_class(tmp_path):
    class Other(Estimator):
        def __init__(self): super().__init__(); self.lin = nn.Linear(1, 1)
    Other().save(tmp_path / 'o.pt')
    with pytest.raises(ValueError, match='holds a Other, not a Field'): Field.from_checkpoint(tmp_path / 'o.pt')
    with pytest.raises(ValueError, match='holds a Other, not a Field'): Field().load(tmp_path / 'o.pt')

def test_checkpoint_with_optimizer_and_ema(tmp_path):
    net = nn.Linear(3, 2); opt = torch.optim.Adam(net.parameters()); ema = EMA(net, 0.9)
    train(lambda: net.weight.pow(2).sum(), net, 5, optimizer=opt, ema=ema, progress=False)
    save_checkpoint(tmp_path / 'c.pt', net=net, opt=opt, ema=ema, step=5)
    net2 = nn.Linear(3, 2); opt2 = torch.optim.Adam(net2.parameters()); ema2 = EMA(net2, 0.5)
    st = load_checkpoint(tmp_path / 'c.pt', net=net2, opt=opt2, ema=ema2)
    assert st['step'] == 5 and ema2.decay == 0.9 and ema2.n_updates == 5
    assert torch.equal(net2.weight, net.weight) and torch.equal(ema2.shadow['weight'], ema.shadow['weight'])
    assert opt2.state_dict()['state'][0]['step'] == opt.state_dict()['state'][0]['step']
    with pytest.raises(KeyError, match="no entry 'model'"): load_checkpoint(tmp_path / 'c.pt', model=net2)

RAN = []
def _payload_ran(): RAN.append(True)
class Payload:
    "Unpickling this calls a function: what a hostile checkpoint would do with os.system."
    def __reduce__(self): return (_payload_ran, ())

@pytest.mark.parametrize('loader', [lambda p: load_checkpoint(p), lambda p: read_checkpoint(p), lambda p: Field.from_checkpoint(p),
                                    lambda p: Field().load(p)])
def test_a_pickled_payload_is_refused_and_nothing_runs(tmp_path, loader):
    state = {'model': Field().state_dict(), 'config': {'dim': 2, 'width': 16}, 'history': {}, 'cls': 'Field', 'extra': Payload()}
    torch.save(state, tmp_path / 'evil.pt')
    RAN.clear()
    with pytest.raises(ValueError, match='holds objects other than tensors and plain data'): loader(tmp_path / 'evil.pt')
    assert RAN == []
    torch.load(tmp_path / 'evil.pt', weights_only=False)               # the payload is live: a plain unpickling runs it
    assert RAN == [True]

def test_only_plain_data_is_saved(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint\['config'\]\['act'\] is a GELU"): save_checkpoint(tmp_path / 'x.pt', config={'act': nn.GELU()})
    with pytest.raises(TypeError, match=r"config\['act'\] is a GELU"): Field.__bases__[0](act=nn.GELU())
