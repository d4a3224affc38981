/**
 * PyTorch module names from exporter node names: scopes that extend the one before (`layer3` →
 * `layer3.1`), repeated calls of a module (its last call takes the name), helper nodes of a module.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { assignNames, modulePath } from '../pipeline/model/onnx/names.ts';

it('module paths from node names', () => {
  assert.equal(modulePath('/layer3/layer3.1/conv2/Conv'), 'layer3.1.conv2');
  assert.equal(modulePath('/features/features.10/Relu'), 'features.10');
  assert.equal(modulePath('/layer2/layer2.0/downsample/downsample.0/Conv'), 'layer2.0.downsample.0');
  assert.equal(modulePath('/features/features.3/expand1x1_activation/Relu'), 'features.3.expand1x1_activation');
  assert.equal(modulePath('/Flatten'), '');
  assert.equal(modulePath('Conv_12'), '');
});

it('a module called twice: the last call takes its name, the first is :1; helpers are <module>/<Op>', () => {
  const names = assignNames(
    [
      { module: 'layer1.0.conv1', opType: 'Pad', fallback: '/layer1/layer1.0/conv1/Conv' },
      { module: 'layer1.0.conv1', opType: 'Conv', fallback: '/layer1/layer1.0/conv1/Conv' },
      { module: 'layer1.0.relu', opType: 'Relu', fallback: '/layer1/layer1.0/relu/Relu' },
      { module: 'layer1.0', opType: 'Add', fallback: '/layer1/layer1.0/Add' },
      { module: 'layer1.0.relu_1', opType: 'Relu', fallback: '/layer1/layer1.0/relu_1/Relu' },
      { module: 'conv_dw_1', opType: 'Conv', fallback: '/conv_dw_1/Conv' },
      { module: '', opType: 'Flatten', fallback: '/Flatten' },
    ],
    new Set(['input']),
  );
  assert.deepEqual(names, ['layer1.0.conv1/Pad', 'layer1.0.conv1', 'layer1.0.relu:1', 'layer1.0', 'layer1.0.relu', 'conv_dw_1', 'Flatten']);
});
