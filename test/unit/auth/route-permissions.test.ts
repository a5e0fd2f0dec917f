import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchPattern, permissionFor } from '../../../api/route-permissions.js';

describe('route permissions', () => {
  describe('permissionFor', () => {
    it('returns the role of a listed route with its path parameters', () => {
      const match = permissionFor('POST', '/export/runs/run_acme_1/cancel');

      assert.equal(match?.permission.access, 'Export.Operator');
      assert.deepEqual(match?.params, { id: 'run_acme_1' });
    });

    it('returns the GET entry for HEAD', () => {
      assert.equal(
        permissionFor('HEAD', '/export/runs/x/download')?.permission.access,
        'Export.Viewer',
      );
    });

    it('returns the entry of a route written with other case and a trailing slash', () => {
      assert.equal(permissionFor('POST', '/Export/Profiles/')?.permission.access, 'Export.Admin');
    });

    describe('when the route is not in the table', () => {
      it('returns undefined', () => {
        assert.equal(permissionFor('GET', '/export/secrets'), undefined);
        assert.equal(permissionFor('PUT', '/export/runs'), undefined);
        assert.equal(permissionFor('OPTIONS', '/export/runs'), undefined);
        assert.equal(permissionFor('GET', '//export/runs'), undefined);
        assert.equal(permissionFor('GET', '/export/runs/a/b/c'), undefined);
      });
    });
  });

  describe('matchPattern', () => {
    describe('when the pattern ends in *', () => {
      it('returns a match for zero or more further segments', () => {
        assert.deepEqual(matchPattern('/export/policies/*', '/export/policies'), {});
        assert.deepEqual(matchPattern('/export/policies/*', '/export/policies/p1/publish'), {});
      });
    });

    describe('when a parameter segment is empty', () => {
      it('returns undefined', () => {
        assert.equal(matchPattern('/export/runs/:id/cancel', '/export/runs//cancel'), undefined);
      });
    });
  });
});
