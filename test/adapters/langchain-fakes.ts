import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { FakeListChatModel } from '@langchain/core/utils/testing';

/** A fake whose answers each name the call they came from, and that reports a finish reason. */
export class CountingModel extends FakeListChatModel {
  calls = 0;
  finish = 'stop';

  override async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    this.calls++;
    const text = `answer ${this.calls} to ${messages.at(-1)?.text ?? ''}`;
    await Promise.resolve(options.signal);
    return { generations: [{ text, message: new AIMessage({ content: text, response_metadata: { finish_reason: this.finish }, usage_metadata: { input_tokens: 5, output_tokens: 7, total_tokens: 12 } } as never) }] };
  }
}
